import { Badge, Code, Stack, Text } from '@mantine/core'
import { tickOutcome } from './policies'
import type { ScheduleOut, TickOut } from './types'

/** Paused or active. */
export function PausedBadge({ paused }: { paused: boolean }) {
  return (
    <Badge variant="light" radius="sm" color={paused ? 'orange' : 'green'} c="bright">
      {paused ? 'paused' : 'active'}
    </Badge>
  )
}

/** A run's outcome: submitted, or skipped and why. */
export function OutcomeBadge({ tick }: { tick: Pick<TickOut, 'outcome' | 'skip_reason'> }) {
  return (
    <Badge variant="light" radius="sm" color={tick.outcome === 'submitted' ? 'blue' : 'gray'} c="bright" tt="none" title={tickOutcome(tick)}>
      {tick.outcome === 'skipped' && tick.skip_reason ? `skipped (${tick.skip_reason.replaceAll('_', ' ')})` : tick.outcome}
    </Badge>
  )
}

/** The expression and what it means. */
export function CronText({ schedule }: { schedule: Pick<ScheduleOut, 'cron' | 'cron_description'> }) {
  return (
    <Stack gap={2}>
      <Code>{schedule.cron}</Code>
      <Text size="xs" c="dimmed">
        {schedule.cron_description}
      </Text>
    </Stack>
  )
}
