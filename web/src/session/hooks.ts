import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useCallback, useMemo, useSyncExternalStore } from 'react'
import { client, unwrap } from '../api/client'
import { ApiError } from '../api/errors'
import type { components } from '../api/schema.gen'
import { session } from '../api/session'
import { canCreateSomeJob, grants } from './permissions'

export type Me = components['schemas']['MeResponse']
export const ME_KEY = ['me'] as const

/** The session's status and current team, re-rendering on change. */
export function useSession() {
  return useSyncExternalStore(session.subscribe, session.snapshot)
}

async function fetchMe(): Promise<Me> {
  try {
    return await unwrap(client.GET('/api/v1/me'))
  } catch (error) {
    // A remembered team this user no longer belongs to: fall back to the default team.
    if (error instanceof ApiError && (error.status === 403 || error.status === 404) && session.teamId) {
      session.setTeam(null)
      return unwrap(client.GET('/api/v1/me'))
    }
    throw error
  }
}

/** Who is signed in, in which team, allowed what; `can(permission)` checks a grant. */
export function useMe() {
  const { status } = useSession()
  const query = useQuery({ queryKey: ME_KEY, queryFn: fetchMe, enabled: status === 'signed-in', staleTime: 60_000 })
  const permissions = query.data?.permissions
  const held = useMemo(() => new Set(permissions ?? []), [permissions])
  const can = useCallback((permission: string) => grants(held, permission), [held])
  const canCreate = useMemo(() => canCreateSomeJob(held), [held])
  return { ...query, me: query.data, can, canCreate }
}

/** Switch the current team: every cached answer belonged to the old one. */
export function useSwitchTeam() {
  const queryClient = useQueryClient()
  return useCallback(
    (team: string) => {
      session.setTeam(team)
      void queryClient.resetQueries()
    },
    [queryClient],
  )
}
