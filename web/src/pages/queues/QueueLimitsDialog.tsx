import { Button, Group, Modal, NumberInput, Select, Stack, Switch, Text } from '@mantine/core'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { ErrorAlert } from '../../components/ErrorAlert'
import { QUEUES_KEY, flowApi } from './api'
import { concurrencyOf, rateInput, rateOf, type IntervalUnit, type RateInput } from './limits'
import type { Queue, QueuePatch } from './types'

const UNITS: { value: IntervalUnit; label: string }[] = [
  { value: 'second', label: 'seconds' },
  { value: 'minute', label: 'minutes' },
  { value: 'hour', label: 'hours' },
]

/** The rate limit fields: "at most N starts every X unit". */
export function RateFields({ value, onChange, error }: { value: RateInput; onChange: (next: RateInput) => void; error?: string }) {
  const set = <K extends keyof RateInput>(key: K, next: RateInput[K]) => onChange({ ...value, [key]: next })
  return (
    <Group gap="xs" align="flex-start" wrap="nowrap">
      <NumberInput label="Starts" min={1} allowDecimal={false} clampBehavior="none" value={value.count} onChange={(n) => set('count', n)} w={110} error={error} />
      <NumberInput label="Every" min={0} clampBehavior="none" value={value.every} onChange={(n) => set('every', n)} w={110} />
      <Select label="Unit" data={UNITS} value={value.unit} onChange={(unit) => set('unit', (unit ?? 'second') as IntervalUnit)} allowDeselect={false} w={130} />
    </Group>
  )
}

/** Edit a queue's rate limit, concurrency limit and fairness. */
export function QueueLimitsDialog({ queue, onClose }: { queue: Queue; onClose: () => void }) {
  const queryClient = useQueryClient()
  const [rate, setRate] = useState<RateInput>(() => rateInput(queue.rate_limit))
  const [limitOn, setLimitOn] = useState(Boolean(queue.concurrency_limit))
  const [limit, setLimit] = useState<number | string>(queue.concurrency_limit ?? 4)
  const [fair, setFair] = useState(Boolean(queue.fair))
  const [problem, setProblem] = useState<{ rate?: string; limit?: string }>({})
  const save = useMutation({
    mutationFn: (body: QueuePatch) => flowApi.updateQueue(queue.name, body),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: QUEUES_KEY })
      onClose()
    },
  })
  const submit = () => {
    const rateLimit = rateOf(rate)
    const concurrency = concurrencyOf(limitOn, limit)
    const next = { rate: 'error' in rateLimit ? rateLimit.error : undefined, limit: 'error' in concurrency ? concurrency.error : undefined }
    setProblem(next)
    if ('error' in rateLimit || 'error' in concurrency) return
    save.mutate({ rate_limit: rateLimit.limit, concurrency_limit: concurrency.limit, fair })
  }
  return (
    <Modal opened onClose={onClose} title={`Limits of ${queue.name}`} centered closeButtonProps={{ 'aria-label': 'Close' }}>
      <Stack>
        <Switch
          label="Rate limit"
          description="Jobs of this queue start at most this often, across every agent; the others wait (never fail)"
          checked={rate.on}
          onChange={(event) => setRate({ ...rate, on: event.currentTarget.checked })}
        />
        {rate.on && <RateFields value={rate} onChange={setRate} error={problem.rate} />}
        <Switch
          label="Concurrency limit"
          description="At most this many of its jobs run at once, across every agent"
          checked={limitOn}
          onChange={(event) => setLimitOn(event.currentTarget.checked)}
        />
        {limitOn && (
          <NumberInput
            label="Running at once"
            min={1}
            allowDecimal={false}
            clampBehavior="none"
            value={limit}
            onChange={(next) => setLimit(next as number | string)}
            error={problem.limit}
            w={160}
          />
        )}
        <Switch
          label="Fair"
          description="Share the agents in turn between the jobs' fair keys (by default who submitted them), so one flood cannot starve the others"
          checked={fair}
          onChange={(event) => setFair(event.currentTarget.checked)}
        />
        <ErrorAlert error={save.error} action={`change the limits of ${queue.name}`} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Back
          </Button>
          <Button loading={save.isPending} onClick={submit}>
            Save limits
          </Button>
        </Group>
        <Text size="xs" c="dimmed">
          Jobs held back show “rate limit”, “concurrency limit” or “fairness” as what they are waiting for.
        </Text>
      </Stack>
    </Modal>
  )
}
