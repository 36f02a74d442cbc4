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

/** A job's state as a coloured badge (the state's name is its text). */
export function JobStateBadge({ state, stopping = false }: { state: JobState; stopping?: boolean }) {
  return (
    <Badge color={STATE_COLORS[state]} variant="light" radius="sm">
      {stopping && state === 'running' ? 'stopping' : state}
    </Badge>
  )
}
