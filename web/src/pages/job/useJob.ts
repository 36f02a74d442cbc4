/** A job, its attempts and artifacts, kept live by the team's events for this job. */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useCallback, useEffect } from 'react'
import { client, unwrap } from '../../api/client'
import { useTeamEvents, type TeamEvent } from '../../live/useTeamEvents'
import { AGENTS_READ } from '../../session/permissions'
import { useMe } from '../../session/hooks'
import type { Job } from './jobState'

export const jobKey = (jobId: string) => ['job', jobId] as const
export const attemptsKey = (jobId: string) => ['job', jobId, 'attempts'] as const
export const artifactsKey = (jobId: string) => ['job', jobId, 'artifacts'] as const

const JOB_EVENTS = ['job', 'artifact'] as const

export function useJob(jobId: string) {
  const queryClient = useQueryClient()
  const job = useQuery({
    queryKey: jobKey(jobId),
    queryFn: () => unwrap(client.GET('/api/v1/jobs/{job_id}', { params: { path: { job_id: jobId } } })),
  })
  const attempts = useQuery({
    queryKey: attemptsKey(jobId),
    queryFn: () => unwrap(client.GET('/api/v1/jobs/{job_id}/attempts', { params: { path: { job_id: jobId } } })),
    enabled: job.isSuccess,
  })
  const artifacts = useQuery({
    queryKey: artifactsKey(jobId),
    queryFn: () => unwrap(client.GET('/api/v1/jobs/{job_id}/artifacts', { params: { path: { job_id: jobId } } })),
    enabled: job.isSuccess,
  })

  const onEvent = useCallback(
    (event: TeamEvent) => {
      if (event.object_id !== jobId) return
      if (event.kind === 'artifact') {
        void queryClient.invalidateQueries({ queryKey: artifactsKey(jobId) })
        return
      }
      const data = event.data as { state?: Job['state']; progress?: unknown }
      const cached = queryClient.getQueryData<Job>(jobKey(jobId))
      if (cached && data.state === cached.state && 'progress' in data) {
        // A progress beat: no need to read the job again.
        queryClient.setQueryData<Job>(jobKey(jobId), { ...cached, progress: data.progress })
        return
      }
      void queryClient.invalidateQueries({ queryKey: jobKey(jobId) })
    },
    [jobId, queryClient],
  )
  const stream = useTeamEvents(onEvent, { jobId, kinds: JOB_EVENTS, enabled: job.isSuccess })
  // The stream starts at the present: what changed before it opened (or while it was down)
  // is read again once it is open.
  useEffect(() => {
    if (stream === 'open') void queryClient.invalidateQueries({ queryKey: jobKey(jobId) })
  }, [stream, jobId, queryClient])
  return { job, attempts, artifacts, stream }
}

/** Agents by id, for naming the agent of each attempt (when the role may list agents). */
export function useAgentNames(): Map<string, string> {
  const { can } = useMe()
  const agents = useQuery({
    queryKey: ['job-page', 'agents'],
    queryFn: () => unwrap(client.GET('/api/v1/agents')),
    enabled: can(AGENTS_READ),
    staleTime: 30_000,
  })
  return new Map((agents.data?.items ?? []).map((agent) => [agent.id, agent.name]))
}
