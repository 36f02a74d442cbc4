import { Badge, type MantineColor } from '@mantine/core'
import type { components } from '../api/schema.gen'

type JobState = components['schemas']['JobState']

/** One colour per state, the same on every page. */
export const STATE_COLORS: Record<JobState, MantineColor> = {
  pending: 'gray',
  scheduled: 'violet',
  queued: 'blue',
  running: 'cyan',
  succeeded: 'green',
  dead: 'red',
  cancelled: 'orange',
}

/** A job's state as a coloured badge (the state's name is its text). The text takes the
 * scheme's strongest colour: a light badge's own (green.9 on green.1 is 3.8:1) fails AA. */
export function JobStateBadge({ state, stopping = false }: { state: JobState; stopping?: boolean }) {
  return (
    <Badge color={STATE_COLORS[state]} variant="light" radius="sm" c="bright">
      {stopping && state === 'running' ? 'stopping' : state}
    </Badge>
  )
}
