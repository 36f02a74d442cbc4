import { Anchor, Badge, Button, Group, Table, Text } from '@mantine/core'
import { Link } from 'react-router'
import { STATE_COLOR, type JobState } from '../job/jobState'
import { formatTime } from '../job/time'
import { OutcomeBadge } from './ScheduleBadges'
import { tickOutcome } from './policies'
import type { TickOut } from './types'

interface Props {
  ticks: TickOut[]
  hasNextPage: boolean
  loadingMore: boolean
  loadMore: () => void
}

/** A schedule's runs, newest first: each fire time, its outcome (or why it was skipped) and its job. */
export function TicksTable({ ticks, hasNextPage, loadingMore, loadMore }: Props) {
  if (!ticks.length) {
    return (
      <Text size="sm" c="dimmed">
        No run yet.
      </Text>
    )
  }
  return (
    <>
      <Table.ScrollContainer minWidth={720}>
        <Table verticalSpacing="xs" aria-label="Runs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Fire time</Table.Th>
              <Table.Th>Kind</Table.Th>
              <Table.Th>Outcome</Table.Th>
              <Table.Th>Job</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {ticks.map((tick) => (
              <Table.Tr key={`${tick.fire_at}-${tick.kind}-${tick.created_at}`}>
                <Table.Td>
                  <time dateTime={tick.fire_at}>{formatTime(tick.fire_at)}</time>
                </Table.Td>
                <Table.Td>{tick.kind === 'manual' ? 'run now' : 'cron'}</Table.Td>
                <Table.Td>
                  <Group gap={6}>
                    <OutcomeBadge tick={tick} />
                    {(tick.message || tick.outcome === 'skipped') && (
                      <Text size="xs" c="dimmed">
                        {tick.message ?? tickOutcome(tick)}
                      </Text>
                    )}
                  </Group>
                </Table.Td>
                <Table.Td>
                  {tick.job_id ? (
                    <Group gap={6}>
                      <Anchor component={Link} to={`/jobs/${tick.job_id}`} ff="monospace" size="sm" title={tick.job_id}>
                        {tick.job_id.slice(-8)}
                      </Anchor>
                      {tick.job_state && (
                        <Badge variant="light" radius="sm" c="bright" color={STATE_COLOR[tick.job_state as JobState] ?? 'gray'}>
                          {tick.job_state}
                        </Badge>
                      )}
                    </Group>
                  ) : (
                    <Text size="sm" c="dimmed">
                      —
                    </Text>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {hasNextPage && (
        <Group>
          <Button variant="default" size="xs" onClick={loadMore} loading={loadingMore}>
            Load more runs
          </Button>
        </Group>
      )}
    </>
  )
}
