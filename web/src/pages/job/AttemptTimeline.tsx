import { Badge, Code, Group, Stack, Text, Timeline } from '@mantine/core'
import { OUTCOME_COLOR, type Attempt } from './jobState'
import { formatDuration, formatTime } from './time'

interface AttemptError {
  type: string
  message: string
  traceback: string
}

/** The error an attempt reported (`{type, message, traceback}` from agents), as strings. */
export function attemptError(error: unknown): AttemptError | null {
  if (error === null || error === undefined) return null
  if (typeof error !== 'object' || Array.isArray(error)) return { type: '', message: String(error), traceback: '' }
  const fields = error as Record<string, unknown>
  const text = (value: unknown) => (typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value))
  return { type: text(fields.type), message: text(fields.message), traceback: text(fields.traceback) }
}

function AttemptItemBody({ attempt, agentName }: { attempt: Attempt; agentName: string }) {
  const error = attemptError(attempt.error)
  return (
    <Stack gap={4}>
      <Text size="sm">
        on {agentName} · {formatTime(attempt.started_at)} → {attempt.finished_at ? formatTime(attempt.finished_at) : 'now'} (
        {formatDuration(attempt.started_at, attempt.finished_at)})
      </Text>
      {error && (
        <Text size="sm" c="red.8" fw={500} className="attempt-error">
          {[error.type, error.message].filter(Boolean).join(': ')}
        </Text>
      )}
      {error?.traceback && (
        <Code block aria-label={`Traceback of attempt ${attempt.attempt}`} tabIndex={0} style={{ maxHeight: 260, overflow: 'auto' }}>
          {error.traceback}
        </Code>
      )}
    </Stack>
  )
}

/** Every attempt: where and when it ran, how it ended, and its error with the traceback. */
export function AttemptTimeline({ attempts, agentNames }: { attempts: readonly Attempt[]; agentNames: Map<string, string> }) {
  if (attempts.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        No attempt yet.
      </Text>
    )
  }
  return (
    <Timeline active={attempts.length - 1} bulletSize={22} lineWidth={2}>
      {attempts.map((attempt) => {
        const agent = attempt.agent_id ? (agentNames.get(attempt.agent_id) ?? attempt.agent_id.slice(0, 8)) : 'no agent'
        return (
          <Timeline.Item
            key={attempt.attempt}
            bullet={<Text size="xs">{attempt.attempt}</Text>}
            title={
              <Group gap="xs">
                <Text fw={600} size="sm">
                  Attempt {attempt.attempt}
                </Text>
                <Badge size="sm" variant="dot" color={OUTCOME_COLOR[attempt.outcome]}>
                  {attempt.outcome.replaceAll('_', ' ')}
                </Badge>
              </Group>
            }
          >
            <AttemptItemBody attempt={attempt} agentName={agent} />
          </Timeline.Item>
        )
      })}
    </Timeline>
  )
}
