import { Button, Group, Stack, Table, Text, TextInput } from '@mantine/core'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { ErrorAlert } from '../../components/ErrorAlert'
import { RATE_KEYS_KEY, flowApi } from './api'
import { rateInput, rateOf, rateText, type RateInput } from './limits'
import { RateFields } from './QueueLimitsDialog'
import type { RateKey } from './types'

function SetRateKey() {
  const queryClient = useQueryClient()
  const [key, setKey] = useState('')
  const [rate, setRate] = useState<RateInput>({ ...rateInput(null), on: true })
  const [problem, setProblem] = useState<{ key?: string; rate?: string }>({})
  const save = useMutation({
    mutationFn: ({ name, limit }: { name: string; limit: { count: number; interval_s: number } }) => flowApi.setRateKey(name, limit),
    onSuccess: () => {
      setKey('')
      void queryClient.invalidateQueries({ queryKey: RATE_KEYS_KEY })
    },
  })
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault()
        const parsed = rateOf(rate)
        const next = { key: key.trim() ? undefined : 'Name the rate key', rate: 'error' in parsed ? parsed.error : undefined }
        setProblem(next)
        if (next.key || 'error' in parsed || !parsed.limit) return
        save.mutate({ name: key.trim(), limit: parsed.limit })
      }}
    >
      <Stack gap="xs">
        <Group gap="xs" align="flex-start">
          <TextInput label="Rate key" placeholder="partner-api" maxLength={200} value={key} onChange={(e) => setKey(e.currentTarget.value)} error={problem.key} w={220} />
          <RateFields value={rate} onChange={setRate} error={problem.rate} />
          <Button type="submit" mt={25} loading={save.isPending}>
            Set limit
          </Button>
        </Group>
        <ErrorAlert error={save.error} action="set a rate limit" />
      </Stack>
    </form>
  )
}

function DeleteRateKey({ item }: { item: RateKey }) {
  const queryClient = useQueryClient()
  const remove = useMutation({
    mutationFn: () => flowApi.deleteRateKey(item.key),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: RATE_KEYS_KEY }),
  })
  return (
    <Button size="xs" variant="default" loading={remove.isPending} onClick={() => remove.mutate()} aria-label={`Remove the limit of ${item.key}`}>
      Remove
    </Button>
  )
}

/** Rate keys: a job's `rate_key` (e.g. a partner's name) shares the limit set here across queues. */
export function RateKeys({ items, canManage }: { items: RateKey[]; canManage: boolean }) {
  return (
    <Stack gap="sm">
      {items.length === 0 ? (
        <Text size="sm" c="dimmed">
          No rate key is limited. A job whose rate_key has no limit here is not held back by it.
        </Text>
      ) : (
        <Table verticalSpacing="xs" aria-label="Rate keys">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Rate key</Table.Th>
              <Table.Th>Limit</Table.Th>
              {canManage && <Table.Th w={120}>Change</Table.Th>}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((item) => (
              <Table.Tr key={item.key}>
                <Table.Td>{item.key}</Table.Td>
                <Table.Td>{rateText(item)}</Table.Td>
                {canManage && (
                  <Table.Td>
                    <DeleteRateKey item={item} />
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {canManage && <SetRateKey />}
    </Stack>
  )
}
