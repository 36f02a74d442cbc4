import { Alert, Anchor, Stack, Title } from '@mantine/core'
import { useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useParams } from 'react-router'
import { ErrorAlert } from '../components/ErrorAlert'
import { PageLoader } from '../components/PageLoader'
import { useMe } from '../session/hooks'
import { SCHEDULES_MANAGE } from '../session/permissions'
import { SCHEDULES_KEY, scheduleKey, schedulesApi, useSchedule } from './schedules/api'
import { ScheduleForm } from './schedules/ScheduleForm'
import type { ScheduleOut } from './schedules/types'

/** New schedule (`/schedules/new`) or edit one (`/schedules/:scheduleId/edit`). */
export default function ScheduleEditPage() {
  const { scheduleId } = useParams()
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const { can, isPending: mePending } = useMe()
  const existing = useSchedule(scheduleId ?? '')
  const editing = scheduleId !== undefined
  const title = editing ? 'Edit schedule' : 'New schedule'

  const saved = (schedule: ScheduleOut) => {
    queryClient.setQueryData(scheduleKey(schedule.id), schedule)
    void queryClient.invalidateQueries({ queryKey: SCHEDULES_KEY })
    navigate(`/schedules/${schedule.id}`)
  }

  if (mePending || (editing && existing.isPending)) {
    return (
      <Stack>
        <Title order={1}>{title}</Title>
        <PageLoader />
      </Stack>
    )
  }
  if (!can(SCHEDULES_MANAGE)) {
    return (
      <Stack>
        <Title order={1}>{title}</Title>
        <Alert color="gray" title="Not allowed">
          Your role in this team does not allow managing schedules.
        </Alert>
      </Stack>
    )
  }
  if (editing && existing.isError) {
    return (
      <Stack>
        <Title order={1}>{title}</Title>
        <ErrorAlert error={existing.error} action="see this schedule" title="This schedule cannot be shown" />
        <Anchor component={Link} to="/schedules">
          Back to the schedules
        </Anchor>
      </Stack>
    )
  }
  return (
    <Stack>
      <Title order={1}>{editing ? `Edit ${existing.data?.name ?? 'schedule'}` : title}</Title>
      {editing && existing.data ? (
        <ScheduleForm
          key={existing.data.id}
          schedule={existing.data}
          save={(body) => schedulesApi.update(existing.data.id, body)}
          onSaved={saved}
          submitLabel="Save changes"
        />
      ) : (
        <ScheduleForm save={schedulesApi.create} onSaved={saved} submitLabel="Create schedule" />
      )}
    </Stack>
  )
}
