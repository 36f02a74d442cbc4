import { Stack, Text, Title } from '@mantine/core'
import { ErrorAlert } from '../components/ErrorAlert'
import { PageLoader } from '../components/PageLoader'
import { useMe } from '../session/hooks'
import { ACTIONS_MANAGE, QUEUES_MANAGE } from '../session/permissions'
import { Section } from './job/Section'
import { useActions } from './newjob/useActions'
import { ActionLimits } from './queues/ActionLimits'
import { useQueues, useRateKeys } from './queues/api'
import { QueuesTable } from './queues/QueuesTable'
import { RateKeys } from './queues/RateKeys'
import type { Action } from './queues/types'

/** The team's queues with their jobs and limits; per-action limits; rate keys. */
export default function QueuesPage() {
  const { can } = useMe()
  const queues = useQueues()
  const actions = useActions()
  const rateKeys = useRateKeys(true)
  const canManage = can(QUEUES_MANAGE)
  return (
    <Stack>
      <Title order={1}>Queues</Title>
      <ErrorAlert error={queues.error} action="see the queues" />
      {queues.isPending && <PageLoader />}
      {queues.data && queues.data.length === 0 && (
        <Text c="dimmed">No queue yet: a queue appears when a job is submitted to it or its limits are set.</Text>
      )}
      {queues.data && (queues.data.length > 0 || canManage) && <QueuesTable queues={queues.data} canManage={canManage} />}
      <Section title="Action limits">
        <ErrorAlert error={actions.error} action="see the actions" />
        {actions.data && <ActionLimits actions={actions.data as Action[]} canManage={can(ACTIONS_MANAGE)} />}
      </Section>
      <Section title="Rate keys">
        <ErrorAlert error={rateKeys.error} action="see the rate keys" />
        {rateKeys.data && <RateKeys items={rateKeys.data} canManage={canManage} />}
      </Section>
    </Stack>
  )
}
