import { Anchor, Badge, Group, Table, Text, Tooltip } from '@mantine/core'
import { Link } from 'react-router'
import { DrainButton } from './DrainButton'
import { actionNames, agentStatus, runningJobsPath, STATUS_COLOR, type Agent } from './status'

const MAX_SHOWN = 2
const NOWRAP = { whiteSpace: 'nowrap' } as const

function Tags({ items }: { items: string[] }) {
  if (!items.length) return <Text size="sm" c="dimmed">none</Text>
  const shown = items.slice(0, MAX_SHOWN)
  return (
    <Group gap={4}>
      {shown.map((item) => (
        <Badge key={item} variant="light" color="gray" tt="none" style={{ flexShrink: 0 }}>
          {item}
        </Badge>
      ))}
      {items.length > shown.length && (
        <Tooltip label={items.slice(MAX_SHOWN).join(', ')}>
          <Text size="xs" c="dimmed">
            +{items.length - shown.length} more
          </Text>
        </Tooltip>
      )}
    </Group>
  )
}

function when(value: string | null): string {
  return value ? new Date(value).toLocaleString() : '—'
}

/** One row per agent: status, where it runs, what it offers, how busy it is. */
export function AgentsTable({ agents, canDrain }: { agents: Agent[]; canDrain: boolean }) {
  return (
    <Table.ScrollContainer minWidth={960}>
      <Table striped highlightOnHover verticalSpacing="sm" aria-label="Agents">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Host</Table.Th>
            <Table.Th>Labels</Table.Th>
            <Table.Th>Actions</Table.Th>
            <Table.Th>Slots in use</Table.Th>
            <Table.Th>Version</Table.Th>
            <Table.Th>Last seen</Table.Th>
            {canDrain && <Table.Th>Drain</Table.Th>}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {agents.map((agent) => {
            const status = agentStatus(agent)
            const labels = Object.entries(agent.labels).map(([key, value]) => `${key}=${value}`)
            return (
              <Table.Tr key={agent.id} data-agent={agent.name}>
                <Table.Td style={NOWRAP}>
                  <Text fw={500}>{agent.name}</Text>
                </Table.Td>
                <Table.Td style={NOWRAP}>
                  <Badge color={STATUS_COLOR[status]} variant="dot" tt="none" style={{ overflow: 'visible' }}>
                    {status}
                  </Badge>
                </Table.Td>
                <Table.Td>{agent.host || <Text size="sm" c="dimmed">unknown</Text>}</Table.Td>
                <Table.Td>
                  <Tags items={labels} />
                </Table.Td>
                <Table.Td>
                  <Tags items={actionNames(agent)} />
                </Table.Td>
                <Table.Td style={NOWRAP}>
                  <Text size="sm" span>
                    {agent.slots_busy} / {agent.slots}
                  </Text>
                  {agent.slots_busy > 0 && (
                    <Anchor component={Link} to={runningJobsPath(agent.id)} size="sm" ml="xs">
                      {agent.slots_busy === 1 ? '1 job' : `${agent.slots_busy} jobs`} running
                    </Anchor>
                  )}
                </Table.Td>
                <Table.Td>{agent.version}</Table.Td>
                <Table.Td>
                  <Text size="sm">{agent.connected ? 'now' : when(agent.disconnected_at ?? agent.last_seen_at)}</Text>
                </Table.Td>
                {canDrain && <Table.Td>{status === 'connected' && <DrainButton agent={agent} />}</Table.Td>}
              </Table.Tr>
            )
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  )
}
