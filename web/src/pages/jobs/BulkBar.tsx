import { Anchor, Button, Group, Paper, Text } from '@mantine/core'
import { useState } from 'react'
import type { BulkVerb } from './bulk'
import { BulkConfirm } from './BulkConfirm'
import type { JobFilters } from './filters'
import type { Selection } from './selection'

interface Props {
  selection: Selection
  filters: JobFilters
  /** Every loaded row is selected: offer "all matching the filter". */
  loadedAllSelected: boolean
  loadedCount: number
  /** More jobs match than are loaded. */
  moreOnServer: boolean
  canCancel: boolean
  canRetry: boolean
  onSelectAllMatching: () => void
  onClear: () => void
}

/** What is selected, and the bulk actions the user may take on it. */
export function BulkBar(props: Props) {
  const { selection, canCancel, canRetry } = props
  const [verb, setVerb] = useState<BulkVerb | null>(null)
  const count = selection.ids.size
  if (!selection.allMatching && count === 0) return null
  const what = selection.allMatching
    ? 'All jobs matching the filter are selected.'
    : `${count} ${count === 1 ? 'job' : 'jobs'} selected.`
  return (
    <Paper withBorder p="xs" radius="sm">
      <Group justify="space-between" gap="sm">
        <Group gap="sm">
          <Text size="sm" fw={500}>
            {what}
          </Text>
          {!selection.allMatching && props.loadedAllSelected && (
            <Anchor component="button" type="button" size="sm" onClick={props.onSelectAllMatching}>
              Select all jobs matching the filter
            </Anchor>
          )}
          <Anchor component="button" type="button" size="sm" onClick={props.onClear}>
            Clear selection
          </Anchor>
        </Group>
        <Group gap="xs">
          {canCancel && (
            <Button color="red" variant="light" size="xs" onClick={() => setVerb('cancel')}>
              Cancel
            </Button>
          )}
          {canRetry && (
            <Button variant="light" size="xs" onClick={() => setVerb('retry')}>
              Retry
            </Button>
          )}
        </Group>
      </Group>
      {verb && (
        <BulkConfirm
          verb={verb}
          selection={selection}
          filters={props.filters}
          loadedCount={props.loadedCount}
          moreOnServer={props.moreOnServer}
          onClose={() => setVerb(null)}
          onDone={props.onClear}
        />
      )}
    </Paper>
  )
}
