import { Button, Group, Modal, Stack, Text } from '@mantine/core'
import { useDisclosure } from '@mantine/hooks'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { client, unwrap } from '../../api/client'
import { ErrorAlert } from '../../components/ErrorAlert'
import type { Agent } from './status'
import { AGENTS_KEY } from './useAgents'

/** "Drain", asking first: the agent finishes its jobs and takes no new ones. */
export function DrainButton({ agent }: { agent: Agent }) {
  const [opened, { open, close }] = useDisclosure(false)
  const queryClient = useQueryClient()
  const drain = useMutation({
    mutationFn: () => unwrap(client.POST('/api/v1/agents/{agent_id}/drain', { params: { path: { agent_id: agent.id } } })),
    onSuccess: () => {
      close()
      void queryClient.invalidateQueries({ queryKey: AGENTS_KEY })
    },
  })
  return (
    <>
      <Button size="xs" variant="default" onClick={open} aria-label={`Drain ${agent.name}`}>
        Drain
      </Button>
      <Modal opened={opened} onClose={close} title={`Drain ${agent.name}?`} centered closeButtonProps={{ 'aria-label': 'Close' }}>
        <Stack>
          <Text size="sm">
            It finishes the jobs it is running and takes no new ones; other agents take the queue. It stays drained after
            a reconnect.
          </Text>
          <ErrorAlert error={drain.error} action={`drain ${agent.name}`} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Keep it running
            </Button>
            <Button loading={drain.isPending} onClick={() => drain.mutate()}>
              Drain
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  )
}
