import { Alert, Loader } from '@mantine/core'
import { useStreamsDown } from './connection'

/** Shown across the top while any live stream is reconnecting. */
export function ReconnectingBanner() {
  const down = useStreamsDown()
  if (!down) return null
  return (
    <Alert role="status" color="yellow" variant="filled" radius={0} icon={<Loader size="xs" color="white" />}>
      Reconnecting to the server…
    </Alert>
  )
}
