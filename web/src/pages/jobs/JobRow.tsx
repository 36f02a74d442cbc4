import { Anchor, Checkbox, Progress, Table, Text } from '@mantine/core'
import { memo } from 'react'
import { Link } from 'react-router'
import { JobStateBadge } from '../../components/JobStateBadge'
import { RelativeTime } from '../../components/RelativeTime'
import type { Job } from './cache'

export const ROW_HEIGHT = 41

/** The id as the table shows it: its last 8 digits (ids are UUIDv7, whose first digits are
 * the creation time, shared by jobs submitted together). */
export function shortId(id: string): string {
  return id.slice(-8)
}

/** done/total of a running job's progress, when it reports numbers. */
export function progressShare(progress: unknown): number | null {
  if (typeof progress !== 'object' || progress === null) return null
  const { done, total } = progress as { done?: unknown; total?: unknown }
  if (typeof done !== 'number' || typeof total !== 'number' || !(total > 0)) return null
  return Math.max(0, Math.min(1, done / total))
}

interface Props {
  job: Job
  agentName: string | null
  selectable: boolean
  selected: boolean
  onToggle: (id: string) => void
}

function JobProgress({ job }: { job: Job }) {
  const share = job.state === 'running' ? progressShare(job.progress) : null
  if (share === null) return null
  const percent = Math.round(share * 100)
  return <Progress value={percent} size="lg" aria-label={`Progress of job ${shortId(job.id)}: ${percent}%`} />
}

/** One row of the jobs table. */
export const JobRow = memo(function JobRow({ job, agentName, selectable, selected, onToggle }: Props) {
  const short = shortId(job.id)
  return (
    <Table.Tr h={ROW_HEIGHT} data-job-id={job.id} bg={selected ? 'var(--mantine-color-default-hover)' : undefined}>
      {selectable && (
        <Table.Td>
          <Checkbox aria-label={`Select job ${short}`} checked={selected} onChange={() => onToggle(job.id)} />
        </Table.Td>
      )}
      <Table.Td>
        <Anchor component={Link} to={`/jobs/${job.id}`} ff="monospace" size="sm" title={job.id}>
          {short}
        </Anchor>
      </Table.Td>
      <Table.Td>
        <Text size="sm" truncate>
          {job.action}
        </Text>
      </Table.Td>
      <Table.Td>
        <JobStateBadge state={job.state} stopping={job.cancel_requested} />
      </Table.Td>
      <Table.Td>
        <Text size="sm" truncate>
          {job.queue}
        </Text>
      </Table.Td>
      <Table.Td>{job.priority}</Table.Td>
      <Table.Td>
        <Text size="sm" truncate>
          {job.agent_id ? (agentName ?? shortId(job.agent_id)) : ''}
        </Text>
      </Table.Td>
      <Table.Td>
        <Text size="sm" truncate>
          <RelativeTime value={job.created_at} />
        </Text>
      </Table.Td>
      <Table.Td>
        <Text size="sm" truncate>
          {job.created_by?.name ?? ''}
        </Text>
      </Table.Td>
      <Table.Td>
        <JobProgress job={job} />
      </Table.Td>
    </Table.Tr>
  )
})
