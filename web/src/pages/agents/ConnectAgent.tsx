import { Alert, Button, Code, CopyButton, Group, Paper, Stack, Text, Title } from '@mantine/core'
import { IconKey } from '@tabler/icons-react'
import { useMutation } from '@tanstack/react-query'
import { client, unwrap } from '../../api/client'
import { ErrorAlert } from '../../components/ErrorAlert'
import { connectCommand } from './status'

interface ConnectAgentProps {
  /** The team the key is for (id or slug). */
  team: string | undefined
  canCreateKey: boolean
}

/** The empty state: the command that connects an agent, and a key made for it (shown once). */
export function ConnectAgent({ team, canCreateKey }: ConnectAgentProps) {
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        client.POST('/api/v1/teams/{team}/keys', {
          params: { path: { team: team ?? '' } },
          body: { kind: 'agent', name: `agent key (dashboard, ${new Date().toISOString().slice(0, 10)})` },
        }),
      ),
  })
  const secret = create.data?.secret ?? null
  const command = connectCommand(window.location.origin, secret)
  return (
    <Paper withBorder p="lg" radius="md">
      <Stack gap="sm">
        <Title order={2} size="h3">
          No agent yet
        </Title>
        <Text size="sm">
          Agents run the jobs. Start one on any machine that can reach this server (it connects out: the machine needs no
          open port). <Code>--demo</Code> offers the built-in demo actions; give <Code>--tasks module:attr</Code> or{' '}
          <Code>--config actions.toml</Code> for your own.
        </Text>
        <Code block aria-label="Command to connect an agent">
          {command}
        </Code>
        <Group>
          <CopyButton value={command}>
            {({ copied, copy }) => (
              <Button variant="default" onClick={copy}>
                {copied ? 'Copied' : 'Copy command'}
              </Button>
            )}
          </CopyButton>
          {canCreateKey && !secret && (
            <Button onClick={() => create.mutate()} loading={create.isPending} disabled={!team}>
              Create agent key
            </Button>
          )}
        </Group>
        {secret && (
          <Alert color="gray" title="Copy the key now" icon={<IconKey size={18} aria-hidden />}>
            This is the only time the key is shown; it is stored hashed. The command above carries it. Revoke it from the
            keys of the team (<Code>conveyor keys</Code>) if it leaks.
          </Alert>
        )}
        {!canCreateKey && (
          <Text size="sm" c="dimmed">
            Ask a team admin for an agent key.
          </Text>
        )}
        <ErrorAlert error={create.error} action="create an agent key" />
      </Stack>
    </Paper>
  )
}
