import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useCallback, useEffect, useRef } from 'react'
import { client, unwrap } from '../../api/client'
import { useTeamEvents } from '../../live/useTeamEvents'

export const AGENTS_KEY = ['agents'] as const
/** At most one reload of the list per this many ms, however many events arrive. */
const RELOAD_EVERY_MS = 1000

/** The team's agents, reloaded as `agent` events (connect, drain, leave) and job starts and
 * ends (busy slots) arrive. */
export function useAgents() {
  const queryClient = useQueryClient()
  const query = useQuery({
    queryKey: AGENTS_KEY,
    queryFn: async () => (await unwrap(client.GET('/api/v1/agents'))).items,
  })
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  useEffect(() => () => clearTimeout(timer.current), [])
  const reload = useCallback(() => {
    if (timer.current !== undefined) return
    timer.current = setTimeout(() => {
      timer.current = undefined
      void queryClient.invalidateQueries({ queryKey: AGENTS_KEY })
    }, RELOAD_EVERY_MS)
  }, [queryClient])
  useTeamEvents(reload, { kinds: ['agent', 'job'] })
  return query
}
