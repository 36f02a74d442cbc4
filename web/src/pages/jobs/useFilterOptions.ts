import { useQuery } from '@tanstack/react-query'
import { useMemo } from 'react'
import { client, unwrap } from '../../api/client'

const STALE_MS = 30_000

/** The choices of the queue, action and agent filters, and agent names by id. */
export function useFilterOptions() {
  const queues = useQuery({
    queryKey: ['jobs', 'filter-options', 'queues'],
    queryFn: () => unwrap(client.GET('/api/v1/queues')),
    staleTime: STALE_MS,
  })
  const actions = useQuery({
    queryKey: ['jobs', 'filter-options', 'actions'],
    queryFn: () => unwrap(client.GET('/api/v1/actions')),
    staleTime: STALE_MS,
  })
  const agents = useQuery({
    queryKey: ['jobs', 'filter-options', 'agents'],
    queryFn: () => unwrap(client.GET('/api/v1/agents')),
    staleTime: STALE_MS,
  })
  return useMemo(() => {
    const agentItems = agents.data?.items ?? []
    return {
      queues: (queues.data?.items ?? []).map((queue) => queue.name),
      actions: (actions.data?.items ?? []).map((action) => action.name),
      agents: agentItems.map((agent) => ({ value: agent.id, label: agent.name })),
      agentNames: new Map(agentItems.map((agent) => [agent.id, agent.name])),
    }
  }, [queues.data, actions.data, agents.data])
}
