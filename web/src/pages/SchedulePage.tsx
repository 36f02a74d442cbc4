import { Alert, Anchor, Badge, Button, Code, Group, List, Paper, SimpleGrid, Stack, Text, Title } from '@mantine/core'
import { IconPencil, IconPlayerPause, IconPlayerPlay, IconRocket, IconTrash } from '@tabler/icons-react'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useCallback, useEffect, useRef, type ReactNode } from 'react'
import { Link, useNavigate, useParams } from 'react-router'
import { ErrorAlert } from '../components/ErrorAlert'
import { PageLoader } from '../components/PageLoader'
import { useTeamEvents } from '../live/useTeamEvents'
import { useMe } from '../session/hooks'
import { SCHEDULES_MANAGE } from '../session/permissions'
import { ConfirmButton } from './job/ConfirmButton'
import { JsonBlock } from './job/JsonBlock'
import { Section } from './job/Section'
import { formatTime } from './job/time'
import { SCHEDULES_KEY, scheduleKey, schedulesApi, ticksKey, useSchedule, useTicks } from './schedules/api'
import { misfireLabel, overlapLabel, windowText, zonedTime } from './schedules/policies'
import { CronText, PausedBadge } from './schedules/ScheduleBadges'
import { TicksTable } from './schedules/TicksTable'
import type { ScheduleOut } from './schedules/types'

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" fw={600} tt="uppercase">
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </div>
  )
}

function creator(schedule: ScheduleOut): string {
  const by = schedule.created_by
  if (!by) return '—'
  return by.kind === 'key' ? `API key ${by.name}` : by.name
}

/** Reload the runs as the team's jobs change (a tick's job starts and ends), at most once a second. */
function useLiveTicks(id: string) {
  const queryClient = useQueryClient()
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  useEffect(() => () => clearTimeout(timer.current), [])
  const reload = useCallback(() => {
    if (timer.current !== undefined) return
    timer.current = setTimeout(() => {
      timer.current = undefined
      void queryClient.invalidateQueries({ queryKey: ticksKey(id) })
      void queryClient.invalidateQueries({ queryKey: scheduleKey(id) })
    }, 1000)
  }, [id, queryClient])
  useTeamEvents(reload, { kinds: ['job'] })
}

/** One schedule: what it runs and when, its next fire times, pause/resume, run now, delete, its runs. */
export default function SchedulePage() {
  const { scheduleId = '' } = useParams()
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const { can } = useMe()
  const schedule = useSchedule(scheduleId)
  const ticks = useTicks(scheduleId, schedule.isSuccess)
  useLiveTicks(scheduleId)
  const canManage = can(SCHEDULES_MANAGE)

  const refresh = (next?: ScheduleOut) => {
    if (next) queryClient.setQueryData(scheduleKey(scheduleId), next)
    void queryClient.invalidateQueries({ queryKey: SCHEDULES_KEY })
  }
  const toggle = useMutation({
    mutationFn: (paused: boolean) => (paused ? schedulesApi.resume(scheduleId) : schedulesApi.pause(scheduleId)),
    onSuccess: refresh,
  })
  const run = useMutation({
    mutationFn: () => schedulesApi.run(scheduleId),
    onSuccess: () => refresh(),
  })

  if (schedule.isPending) return <PageLoader />
  if (schedule.isError) {
    return (
      <Stack>
        <ErrorAlert error={schedule.error} action="see this schedule" title="This schedule cannot be shown" />
        <Anchor component={Link} to="/schedules">
          Back to the schedules
        </Anchor>
      </Stack>
    )
  }
  const data = schedule.data
  const labels = Object.entries(data.labels)
  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Group gap="sm">
            <Title order={1}>{data.name}</Title>
            <PausedBadge paused={data.paused} />
          </Group>
          {data.description && <Text c="dimmed">{data.description}</Text>}
        </Stack>
        {canManage && (
          <Group gap="xs">
            <Button variant="default" component={Link} to={`/schedules/${data.id}/edit`} leftSection={<IconPencil size={16} aria-hidden />}>
              Edit
            </Button>
            <Button
              variant="default"
              loading={toggle.isPending}
              onClick={() => toggle.mutate(data.paused)}
              leftSection={data.paused ? <IconPlayerPlay size={16} aria-hidden /> : <IconPlayerPause size={16} aria-hidden />}
            >
              {data.paused ? 'Resume' : 'Pause'}
            </Button>
            {can(`jobs:create:${data.action}`) && (
              <Button loading={run.isPending} onClick={() => run.mutate()} leftSection={<IconRocket size={16} aria-hidden />}>
                Run now
              </Button>
            )}
            <ConfirmButton
              label="Delete"
              icon={<IconTrash size={16} aria-hidden />}
              color="red.8"
              title={`Delete ${data.name}?`}
              message="It stops running. Jobs it already started are kept, and so is the record of its runs on those jobs."
              confirm="Delete schedule"
              action="delete this schedule"
              run={async () => {
                await schedulesApi.remove(data.id)
                queryClient.removeQueries({ queryKey: scheduleKey(data.id) })
                void queryClient.invalidateQueries({ queryKey: SCHEDULES_KEY })
                navigate('/schedules')
              }}
            />
          </Group>
        )}
      </Group>
      <ErrorAlert error={toggle.error} action={data.paused ? 'resume this schedule' : 'pause this schedule'} />
      <ErrorAlert error={run.error} action="run this schedule now" />
      {run.data && (
        <Alert variant="default" withCloseButton closeButtonLabel="Dismiss" onClose={() => run.reset()} role="status" title="Run started">
          Job{' '}
          <Anchor component={Link} to={`/jobs/${run.data.id}`} ff="monospace">
            {run.data.id.slice(-8)}
          </Anchor>{' '}
          was submitted; it is listed under Runs.
        </Alert>
      )}
      <Paper withBorder p="md">
        <Stack gap="md">
          <SimpleGrid cols={{ base: 2, md: 4 }} spacing="md">
            <Fact label="Action">
              <Anchor component={Link} to={`/jobs?action=${encodeURIComponent(data.action)}`} size="sm">
                {data.action}
              </Anchor>
            </Fact>
            <Fact label="When">
              <CronText schedule={data} />
            </Fact>
            <Fact label="Time zone">{data.timezone}</Fact>
            <Fact label="Queue">{data.queue}</Fact>
            <Fact label="Priority">{data.priority}</Fact>
            <Fact label="Missed times">
              {misfireLabel(data.misfire_policy)}
              {data.misfire_policy !== 'skip' && ` (window ${windowText(data.catchup_window_s)})`}
            </Fact>
            <Fact label="If still running">{overlapLabel(data.overlap)}</Fact>
            <Fact label="Runs as">{data.run_as_key_id ? <Code>key {data.run_as_key_id}</Code> : creator(data)}</Fact>
            <Fact label="Max attempts">{data.max_attempts ?? 'default'}</Fact>
            <Fact label="Timeout">{data.timeout_s !== null ? `${data.timeout_s} s` : 'default'}</Fact>
            <Fact label="Created">{formatTime(data.created_at)}</Fact>
            <Fact label="Updated">{formatTime(data.updated_at)}</Fact>
          </SimpleGrid>
          <Fact label="Labels">
            {labels.length === 0 ? (
              '—'
            ) : (
              <Group gap={6} mt={4}>
                {labels.map(([key, value]) => (
                  <Badge key={key} variant="default" tt="none">
                    {key}={value}
                  </Badge>
                ))}
              </Group>
            )}
          </Fact>
          <div>
            <Title order={2} size="h5" mb={6}>
              Params
            </Title>
            <JsonBlock value={data.params} label="Params" />
          </div>
        </Stack>
      </Paper>
      <Section title="Next runs">
        {data.paused || data.next_fire_times.length === 0 ? (
          <Text size="sm" c="dimmed">
            {data.paused ? 'Paused: nothing runs until it is resumed.' : 'No upcoming fire time.'}
          </Text>
        ) : (
          <List size="sm" spacing={2} aria-label="Next fire times">
            {data.next_fire_times.map((time) => (
              <List.Item key={time}>
                <time dateTime={time}>{zonedTime(time, data.timezone)}</time>{' '}
                <Text span size="xs" c="dimmed">
                  ({data.timezone}; {formatTime(time)} your time)
                </Text>
              </List.Item>
            ))}
          </List>
        )}
      </Section>
      <Section
        title="Runs"
        right={
          <Anchor component={Link} to={`/jobs?schedule_id=${data.id}`} size="sm">
            Its jobs on the Jobs page
          </Anchor>
        }
      >
        <ErrorAlert error={ticks.error} action="see this schedule's runs" />
        {ticks.data && (
          <TicksTable
            ticks={ticks.data.pages.flatMap((page) => page.items)}
            hasNextPage={ticks.hasNextPage}
            loadingMore={ticks.isFetchingNextPage}
            loadMore={() => void ticks.fetchNextPage()}
          />
        )}
      </Section>
    </Stack>
  )
}
