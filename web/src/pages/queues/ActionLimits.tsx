import { ActionIcon, Button, Group, NumberInput, Table, Text } from '@mantine/core'
import { IconCheck, IconX } from '@tabler/icons-react'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { ErrorAlert } from '../../components/ErrorAlert'
import { ACTIONS_KEY } from '../newjob/useActions'
import { flowApi } from './api'
import { concurrencyOf, concurrencyText } from './limits'
import type { Action } from './types'

function LimitEditor({ action, onDone }: { action: Action; onDone: () => void }) {
  const queryClient = useQueryClient()
  const [value, setValue] = useState<number | string>(action.concurrency_limit ?? '')
  const [problem, setProblem] = useState<string | undefined>()
  const save = useMutation({
    mutationFn: (limit: number | null) => flowApi.updateAction(action.name, limit),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ACTIONS_KEY })
      onDone()
    },
  })
  const submit = () => {
    const parsed = concurrencyOf(value !== '', value)
    if ('error' in parsed) return setProblem(parsed.error)
    setProblem(undefined)
    save.mutate(parsed.limit)
  }
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault()
        submit()
      }}
    >
      <Group gap={6} align="flex-start" wrap="nowrap">
        <NumberInput
          size="xs"
          aria-label={`Concurrency limit of ${action.name}`}
          placeholder="no limit"
          min={1}
          allowDecimal={false}
          clampBehavior="none"
          value={value}
          onChange={(next) => setValue(next as number | string)}
          error={problem}
          w={120}
          autoFocus
        />
        <ActionIcon type="submit" variant="filled" size="md" loading={save.isPending} aria-label={`Save the limit of ${action.name}`}>
          <IconCheck size={16} aria-hidden />
        </ActionIcon>
        <ActionIcon variant="default" size="md" onClick={onDone} aria-label="Back">
          <IconX size={16} aria-hidden />
        </ActionIcon>
      </Group>
      <ErrorAlert error={save.error} action={`limit ${action.name}`} />
    </form>
  )
}

/** Per-action concurrency limits: at most N jobs of an action run at once, across agents and queues. */
export function ActionLimits({ actions, canManage }: { actions: Action[]; canManage: boolean }) {
  const [editing, setEditing] = useState<string | null>(null)
  if (!actions.length) {
    return (
      <Text size="sm" c="dimmed">
        No action yet: agents offer them when they connect.
      </Text>
    )
  }
  return (
    <Table.ScrollContainer minWidth={520}>
      <Table verticalSpacing="xs" aria-label="Action limits">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Action</Table.Th>
            <Table.Th>Concurrency</Table.Th>
            {canManage && <Table.Th w={260}>Change</Table.Th>}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {actions.map((action) => (
            <Table.Tr key={action.name} data-action={action.name}>
              <Table.Td>{action.name}</Table.Td>
              <Table.Td>{concurrencyText(action.concurrency_limit)}</Table.Td>
              {canManage && (
                <Table.Td>
                  {editing === action.name ? (
                    <LimitEditor action={action} onDone={() => setEditing(null)} />
                  ) : (
                    <Button size="xs" variant="default" onClick={() => setEditing(action.name)} aria-label={`Edit the limit of ${action.name}`}>
                      Edit
                    </Button>
                  )}
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  )
}
