import { Anchor, Badge, Button, Group, Table, Text, TextInput } from '@mantine/core'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { Link } from 'react-router'
import { ErrorAlert } from '../../components/ErrorAlert'
import { QUEUES_KEY, flowApi } from './api'
import { concurrencyText, rateText } from './limits'
import { QueueLimitsDialog } from './QueueLimitsDialog'
import type { Queue } from './types'

const NOWRAP = { whiteSpace: 'nowrap' } as const
const COUNTED = ['queued', 'running', 'scheduled', 'pending'] as const

function PauseButton({ queue }: { queue: Queue }) {
  const queryClient = useQueryClient()
  const toggle = useMutation({
    mutationFn: () => flowApi.updateQueue(queue.name, { paused: !queue.paused }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: QUEUES_KEY }),
  })
  return (
    <>
      <Button size="xs" variant="default" loading={toggle.isPending} onClick={() => toggle.mutate()} aria-label={`${queue.paused ? 'Resume' : 'Pause'} ${queue.name}`}>
        {queue.paused ? 'Resume' : 'Pause'}
      </Button>
      <ErrorAlert error={toggle.error} action={`${queue.paused ? 'resume' : 'pause'} ${queue.name}`} />
    </>
  )
}

/** One row per queue: its jobs per state, paused, its limits; pause/resume and edit for managers. */
export function QueuesTable({ queues, canManage }: { queues: Queue[]; canManage: boolean }) {
  const [editing, setEditing] = useState<Queue | null>(null)
  const [other, setOther] = useState('')
  return (
    <>
      {queues.length > 0 && (
        <Table.ScrollContainer minWidth={900}>
          <Table striped highlightOnHover verticalSpacing="sm" aria-label="Queues">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Queue</Table.Th>
                <Table.Th>State</Table.Th>
                {COUNTED.map((state) => (
                  <Table.Th key={state} style={{ textTransform: 'capitalize' }}>
                    {state}
                  </Table.Th>
                ))}
                <Table.Th>Rate limit</Table.Th>
                <Table.Th>Concurrency</Table.Th>
                <Table.Th>Fair</Table.Th>
                {canManage && <Table.Th>Change</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {queues.map((queue) => (
                <Table.Tr key={queue.name} data-queue={queue.name}>
                  <Table.Td style={NOWRAP}>
                    <Text size="sm" fw={500}>
                      {queue.name}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="light" radius="sm" c="bright" color={queue.paused ? 'orange' : 'green'}>
                      {queue.paused ? 'paused' : 'active'}
                    </Badge>
                  </Table.Td>
                  {COUNTED.map((state) => (
                    <Table.Td key={state}>
                      {queue.counts[state] ? (
                        <Anchor
                          component={Link}
                          to={`/jobs?queue=${encodeURIComponent(queue.name)}&state=${state}`}
                          size="sm"
                          title={`The ${state} jobs of ${queue.name}`}
                        >
                          {queue.counts[state]}
                        </Anchor>
                      ) : (
                        <Text size="sm" c="dimmed">
                          0
                        </Text>
                      )}
                    </Table.Td>
                  ))}
                  <Table.Td style={NOWRAP}>{rateText(queue.rate_limit)}</Table.Td>
                  <Table.Td style={NOWRAP}>{concurrencyText(queue.concurrency_limit)}</Table.Td>
                  <Table.Td>{queue.fair ? 'yes' : 'no'}</Table.Td>
                  {canManage && (
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <PauseButton queue={queue} />
                        <Button size="xs" variant="default" onClick={() => setEditing(queue)} aria-label={`Edit limits of ${queue.name}`}>
                          Limits
                        </Button>
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {canManage && (
        <form
          onSubmit={(event) => {
            event.preventDefault()
            const name = other.trim()
            if (name) setEditing(queues.find((queue) => queue.name === name) ?? { name, paused: false, counts: {}, fair: false })
          }}
        >
          <Group gap="xs" align="flex-end">
            <TextInput
              label="Another queue"
              description="Limits can be set before its first job"
              placeholder="its name"
              maxLength={100}
              value={other}
              onChange={(event) => setOther(event.currentTarget.value)}
              w={260}
            />
            <Button type="submit" variant="default" disabled={!other.trim()}>
              Set its limits
            </Button>
          </Group>
        </form>
      )}
      {editing && <QueueLimitsDialog key={editing.name} queue={editing} onClose={() => setEditing(null)} />}
    </>
  )
}
