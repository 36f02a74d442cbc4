import { Alert, Loader } from '@mantine/core'
import { useServerDown } from './useRefetchOnReconnect'

/** Shown across the top while any live stream, or the session's refresh, waits for the server. */
export function ReconnectingBanner() {
  const down = useServerDown()
  if (!down) return null
  return (
    <Alert role="status" color="yellow" variant="filled" radius={0} icon={<Loader size="xs" color="white" />}>
      Reconnecting to the server…
    </Alert>
  )
}
