import { ActionIcon, Button, Group, Switch, Text, TextInput, Tooltip } from '@mantine/core'
import { IconChevronDown, IconChevronUp, IconDownload, IconSearch } from '@tabler/icons-react'
import type { KeyboardEvent } from 'react'

interface Props {
  query: string
  onQuery: (value: string) => void
  matchCount: number
  capped: boolean
  current: number
  onStep: (direction: 1 | -1) => void
  showTs: boolean
  onShowTs: (value: boolean) => void
  onDownload: () => void
  downloading: boolean
  status: string
}

/** "3 of 120", "No matches", "100000+ matches". */
export function matchLabel(query: string, count: number, current: number, capped: boolean): string {
  if (!query) return ''
  if (count === 0) return 'No matches'
  const total = `${count.toLocaleString('en-US')}${capped ? '+' : ''}`
  return current >= 0 ? `${(current + 1).toLocaleString('en-US')} of ${total}` : `${total} matches`
}

/** Search (Enter: next match, Shift+Enter: previous), timestamps, download, and the feed's status. */
export function LogToolbar(props: Props) {
  const { query, matchCount, capped, current } = props
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key !== 'Enter') return
    event.preventDefault()
    props.onStep(event.shiftKey ? -1 : 1)
  }
  return (
    <Group justify="space-between" gap="sm" wrap="wrap">
      <Group gap="xs" wrap="nowrap">
        <TextInput
          aria-label="Search the log"
          placeholder="Search the log"
          leftSection={<IconSearch size={16} aria-hidden />}
          value={query}
          onChange={(event) => props.onQuery(event.currentTarget.value)}
          onKeyDown={onKeyDown}
          w={260}
        />
        <Text size="sm" c="dimmed" aria-live="polite" miw={90} data-testid="log-match-count">
          {matchLabel(query, matchCount, current, capped)}
        </Text>
        <Tooltip label="Previous match">
          <ActionIcon variant="default" size="lg" aria-label="Previous match" disabled={matchCount === 0} onClick={() => props.onStep(-1)}>
            <IconChevronUp size={18} aria-hidden />
          </ActionIcon>
        </Tooltip>
        <Tooltip label="Next match">
          <ActionIcon variant="default" size="lg" aria-label="Next match" disabled={matchCount === 0} onClick={() => props.onStep(1)}>
            <IconChevronDown size={18} aria-hidden />
          </ActionIcon>
        </Tooltip>
      </Group>
      <Group gap="md" wrap="nowrap">
        <Text size="sm" c="dimmed" data-testid="log-status">
          {props.status}
        </Text>
        <Switch label="Timestamps" checked={props.showTs} onChange={(event) => props.onShowTs(event.currentTarget.checked)} />
        <Button variant="default" leftSection={<IconDownload size={16} aria-hidden />} onClick={props.onDownload} loading={props.downloading}>
          Download log
        </Button>
      </Group>
    </Group>
  )
}
