import { useQueryClient } from '@tanstack/react-query'
import { useEffect, useRef } from 'react'
import { useSession } from '../session/hooks'
import { useStreamsDown } from './connection'

/** True while a live stream reconnects or the session's refresh cannot reach the server. */
export function useServerDown(): boolean {
  const streamsDown = useStreamsDown()
  const { unreachable } = useSession()
  return streamsDown || unreachable
}

/** When the server is back, refetch what the page shows: the queries that failed meanwhile
 * would stay failed otherwise, and the page would not recover. */
export function useRefetchOnReconnect(): void {
  const down = useServerDown()
  const queryClient = useQueryClient()
  const wasDown = useRef(false)
  useEffect(() => {
    if (down) wasDown.current = true
    else if (wasDown.current) {
      wasDown.current = false
      void queryClient.invalidateQueries()
    }
  }, [down, queryClient])
}
