import { Anchor, Button, Group, Stack, Table, Text, Title } from '@mantine/core'
import { IconPlus } from '@tabler/icons-react'
import { Link } from 'react-router'
import { ErrorAlert } from '../components/ErrorAlert'
import { PageLoader } from '../components/PageLoader'
import { RelativeTime } from '../components/RelativeTime'
import { useMe } from '../session/hooks'
import { SCHEDULES_MANAGE } from '../session/permissions'
import { useSchedules } from './schedules/api'
import { CronText, OutcomeBadge, PausedBadge } from './schedules/ScheduleBadges'
import { zonedTime } from './schedules/policies'

/** The team's cron schedules: when each runs next and how its last run went. */
export default function SchedulesPage() {
  const { can } = useMe()
  const schedules = useSchedules()
  const list = schedules.data?.pages.flatMap((page) => page.items) ?? []
  const canManage = can(SCHEDULES_MANAGE)
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>Schedules</Title>
        {canManage && (
          <Button component={Link} to="/schedules/new" leftSection={<IconPlus size={16} aria-hidden />}>
            New schedule
          </Button>
        )}
      </Group>
      <ErrorAlert error={schedules.error} action="see the schedules" />
      {schedules.isPending && <PageLoader />}
      {schedules.data && list.length === 0 && (
        <Text c="dimmed">
          No schedule yet. A schedule runs an action on a cron expression, in a time zone of your choice
          {canManage ? ': create one with “New schedule”.' : '.'}
        </Text>
      )}
      {list.length > 0 && (
        <Table.ScrollContainer minWidth={980}>
          <Table striped highlightOnHover verticalSpacing="sm" aria-label="Schedules">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Action</Table.Th>
                <Table.Th>When</Table.Th>
                <Table.Th>Time zone</Table.Th>
                <Table.Th>Next run</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th>Last run</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.map((schedule) => {
                const next = schedule.next_fire_times[0]
                return (
                  <Table.Tr key={schedule.id} data-schedule={schedule.name}>
                    <Table.Td>
                      <Anchor component={Link} to={`/schedules/${schedule.id}`} fw={500}>
                        {schedule.name}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{schedule.action}</Table.Td>
                    <Table.Td>
                      <CronText schedule={schedule} />
                    </Table.Td>
                    <Table.Td>{schedule.timezone}</Table.Td>
                    <Table.Td>
                      {next && !schedule.paused ? (
                        <Stack gap={0}>
                          <Text size="sm">{zonedTime(next, schedule.timezone)}</Text>
                          <Text size="xs" c="dimmed">
                            <RelativeTime value={next} />
                          </Text>
                        </Stack>
                      ) : (
                        <Text size="sm" c="dimmed">
                          —
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <PausedBadge paused={schedule.paused} />
                    </Table.Td>
                    <Table.Td>
                      {schedule.last_tick ? (
                        <Stack gap={2} align="flex-start">
                          <OutcomeBadge tick={schedule.last_tick} />
                          <Text size="xs" c="dimmed">
                            <RelativeTime value={schedule.last_tick.fire_at} />
                          </Text>
                        </Stack>
                      ) : (
                        <Text size="sm" c="dimmed">
                          never
                        </Text>
                      )}
                    </Table.Td>
                  </Table.Tr>
                )
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {schedules.hasNextPage && (
        <Group>
          <Button variant="default" size="xs" onClick={() => void schedules.fetchNextPage()} loading={schedules.isFetchingNextPage}>
            Load more
          </Button>
        </Group>
      )}
    </Stack>
  )
}
