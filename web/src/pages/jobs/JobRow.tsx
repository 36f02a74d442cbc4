import { Progress } from '@mantine/core'
import { memo } from 'react'
import { Link } from 'react-router'
import { JobStateBadge } from '../../components/JobStateBadge'
import { RelativeTime } from '../../components/RelativeTime'
import { waitingLong, waitingShort } from '../../components/waiting'
import type { Job } from './cache'
import classes from './JobRow.module.css'

export const ROW_HEIGHT = 41
/** A live event may move a job on before its reason is read again: only waiting jobs show one. */
const WAITING = new Set(['pending', 'scheduled', 'queued'])

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
    <tr className={classes.row} data-job-id={job.id} data-selected={selected || undefined}>
      {selectable && (
        <td>
          <input
            type="checkbox"
            className={classes.check}
            aria-label={`Select job ${short}`}
            checked={selected}
            onChange={() => onToggle(job.id)}
          />
        </td>
      )}
      <td>
        <Link className={classes.id} to={`/jobs/${job.id}`} title={job.id}>
          {short}
        </Link>
      </td>
      <td>{job.action}</td>
      <td>
        <JobStateBadge state={job.state} stopping={job.cancel_requested} />
        {job.waiting_reason && WAITING.has(job.state) && (
          <span className={classes.waiting} title={`Waiting for ${waitingLong(job.waiting_reason)}`}>
            {waitingShort(job.waiting_reason)}
          </span>
        )}
      </td>
      <td>{job.queue}</td>
      <td>{job.priority}</td>
      <td>{job.agent_id ? (agentName ?? shortId(job.agent_id)) : ''}</td>
      <td>
        <RelativeTime value={job.created_at} />
      </td>
      <td>{job.created_by?.name ?? ''}</td>
      <td>
        <JobProgress job={job} />
      </td>
    </tr>
  )
})
