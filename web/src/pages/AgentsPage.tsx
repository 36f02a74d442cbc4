import { Stack, Text, Title } from '@mantine/core'

/** The team's agents: status, labels, actions, slots, host; drain. */
export default function AgentsPage() {
  return (
    <Stack>
      <Title order={1}>Agents</Title>
      {/* TODO(agents page): agents table, empty state with the connect command, drain. */}
      <Text c="dimmed">The agents table comes here.</Text>
    </Stack>
  )
}
