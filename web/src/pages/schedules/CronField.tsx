import { Group, List, Loader, Stack, Text, TextInput } from '@mantine/core'
import { useDebouncedValue } from '@mantine/hooks'
import { useQuery } from '@tanstack/react-query'
import { ApiError } from '../../api/errors'
import { fieldMessage } from '../newjob/serverErrors'
import { schedulesApi } from './api'
import { zonedTime } from './policies'

interface CronFieldProps {
  value: string
  onChange: (cron: string) => void
  timezone: string
  /** The server's message for the field (after a refused save). */
  error?: string
}

const EXAMPLES = '“*/15 * * * *” every 15 minutes · “0 9 * * 1-5” weekdays at 09:00 · “*/10 * * * * *” every 10 seconds'

/** The cron expression, with the server's reading of it as you type: in words and the next
 * fire times, or what is wrong with it. */
export function CronField({ value, onChange, timezone, error }: CronFieldProps) {
  const [cron] = useDebouncedValue(value.trim(), 300)
  const preview = useQuery({
    queryKey: ['schedules', 'preview', cron, timezone],
    queryFn: () => schedulesApi.preview(cron, timezone),
    enabled: cron !== '',
    staleTime: 60_000,
    retry: false,
  })
  const refused = preview.error instanceof ApiError && preview.error.status === 422 ? fieldMessage(preview.error.message, ['cron']) : null
  const shownError = error ?? refused ?? undefined
  return (
    <Stack gap={6}>
      <TextInput
        label="Cron expression"
        description={`minute hour day-of-month month day-of-week; a sixth field in front is seconds. ${EXAMPLES}`}
        required
        value={value}
        onChange={(event) => onChange(event.currentTarget.value)}
        error={shownError}
        styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
        rightSection={preview.isFetching ? <Loader size="xs" aria-label="Reading the expression" /> : null}
      />
      {preview.data && !shownError && (
        <Stack gap={2} aria-live="polite" data-testid="cron-preview">
          <Text size="sm" fw={500}>
            {preview.data.cron_description}
          </Text>
          <Group gap={6} align="flex-start">
            <Text size="sm" c="dimmed">
              Next ({timezone}):
            </Text>
            <List size="sm" listStyleType="none" spacing={0}>
              {preview.data.next_fire_times.map((time) => (
                <List.Item key={time}>
                  <time dateTime={time}>{zonedTime(time, timezone)}</time>
                </List.Item>
              ))}
            </List>
          </Group>
        </Stack>
      )}
      {preview.error && !refused && (
        <Text size="sm" c="red.8">
          The expression could not be checked: {preview.error.message}
        </Text>
      )}
    </Stack>
  )
}
