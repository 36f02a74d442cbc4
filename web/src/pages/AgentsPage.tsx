import { Stack, Text, Title } from '@mantine/core'
import { ErrorAlert } from '../components/ErrorAlert'
import { PageLoader } from '../components/PageLoader'
import { useMe } from '../session/hooks'
import { AGENTS_MANAGE, KEYS_CREATE } from '../session/permissions'
import { AgentsTable } from './agents/AgentsTable'
import { ConnectAgent } from './agents/ConnectAgent'
import { sortAgents } from './agents/status'
import { useAgents } from './agents/useAgents'

/** The team's agents: status, labels, actions, slots, host; drain. */
export default function AgentsPage() {
  const { me, can } = useMe()
  const agents = useAgents()
  const list = agents.data ? sortAgents(agents.data) : []
  return (
    <Stack>
      <Title order={1}>Agents</Title>
      <ErrorAlert error={agents.error} action="see the agents" />
      {agents.isPending && <PageLoader />}
      {agents.data && list.length === 0 && <ConnectAgent team={me?.team?.id} canCreateKey={can(KEYS_CREATE)} />}
      {list.length > 0 && (
        <>
          <Text size="sm" c="dimmed">
            {list.filter((agent) => agent.connected).length} of {list.length} connected
          </Text>
          <AgentsTable agents={list} canDrain={can(AGENTS_MANAGE)} />
        </>
      )}
    </Stack>
  )
}
