import { Group } from '@mantine/core'
import { IconPlayerStop, IconRefresh } from '@tabler/icons-react'
import { useQueryClient } from '@tanstack/react-query'
import { client, unwrap } from '../../api/client'
import { JOBS_CANCEL, JOBS_RETRY } from '../../session/permissions'
import { useMe } from '../../session/hooks'
import { ConfirmButton } from './ConfirmButton'
import { canCancel, canRetry, type Job } from './jobState'
import { jobKey } from './useJob'

/** Cancel and retry, each shown only when the role allows it and the job's state does. */
export function JobActions({ job }: { job: Job }) {
  const { can } = useMe()
  const queryClient = useQueryClient()
  const path = { params: { path: { job_id: job.id } } }
  const done = (updated: Job) => {
    queryClient.setQueryData(jobKey(job.id), updated)
    void queryClient.invalidateQueries({ queryKey: jobKey(job.id) })
  }
  const showCancel = can(JOBS_CANCEL) && canCancel(job)
  const showRetry = can(JOBS_RETRY) && canRetry(job)
  if (!showCancel && !showRetry) return null
  return (
    <Group gap="xs">
      {showCancel && (
        <ConfirmButton
          label="Cancel"
          icon={<IconPlayerStop size={16} aria-hidden />}
          color="red.9"
          title="Cancel this job?"
          message={
            job.state === 'running'
              ? 'Its agent is told to stop it; the job ends cancelled once the process is gone.'
              : 'It will not run.'
          }
          confirm="Cancel job"
          dismiss="Keep it"
          action="cancel this job"
          run={async () => done(await unwrap(client.POST('/api/v1/jobs/{job_id}/cancel', path)))}
        />
      )}
      {showRetry && (
        <ConfirmButton
          label="Retry"
          icon={<IconRefresh size={16} aria-hidden />}
          title="Run this job again?"
          message={`It is queued again with a fresh set of ${job.max_attempts} attempt(s); its log keeps the earlier attempts.`}
          confirm="Retry job"
          action="retry this job"
          run={async () => done(await unwrap(client.POST('/api/v1/jobs/{job_id}/retry', path)))}
        />
      )}
    </Group>
  )
}
