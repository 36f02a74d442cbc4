import { Group, NumberInput, Radio, SimpleGrid, Stack, TagsInput, TextInput } from '@mantine/core'
import type { JobOptionsValue, StartMode } from './options'
import type { OptionField } from './serverErrors'

interface JobOptionsFieldsProps {
  value: JobOptionsValue
  onChange: (next: JobOptionsValue) => void
  /** A message per field (from the server or the checks before sending). */
  errors: Partial<Record<OptionField, string>>
}

const START_MODES: { value: StartMode; label: string }[] = [
  { value: 'now', label: 'Now' },
  { value: 'delay', label: 'After a delay' },
  { value: 'at', label: 'At a time' },
]

/** Queue, priority, start, labels and idempotency key: each optional, the server's defaults otherwise. */
export function JobOptionsFields({ value, onChange, errors }: JobOptionsFieldsProps) {
  const set = <K extends keyof JobOptionsValue>(key: K, next: JobOptionsValue[K]) => onChange({ ...value, [key]: next })
  return (
    <Stack gap="sm">
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          label="Queue"
          placeholder="default"
          value={value.queue}
          onChange={(event) => set('queue', event.currentTarget.value)}
          error={errors.queue}
        />
        <NumberInput
          label="Priority"
          description="−100 to 100, higher runs first"
          placeholder="0"
          allowDecimal={false}
          clampBehavior="none"
          value={value.priority}
          onChange={(next) => set('priority', next)}
          error={errors.priority}
        />
      </SimpleGrid>
      <Stack gap={4}>
        <Radio.Group label="Start" value={value.start} onChange={(next) => set('start', next as StartMode)}>
          <Group gap="lg" mt={4}>
            {START_MODES.map((mode) => (
              <Radio key={mode.value} value={mode.value} label={mode.label} />
            ))}
          </Group>
        </Radio.Group>
        {value.start === 'delay' && (
          <NumberInput
            label="Delay (minutes)"
            min={0}
            value={value.delayMinutes}
            onChange={(next) => set('delayMinutes', next)}
            error={errors.run_at}
            maw={240}
          />
        )}
        {value.start === 'at' && (
          <TextInput
            type="datetime-local"
            label="Start at (your time zone)"
            value={value.startAt}
            onChange={(event) => set('startAt', event.currentTarget.value)}
            error={errors.run_at}
            maw={280}
          />
        )}
      </Stack>
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TagsInput
          label="Labels"
          description="key=value; only an agent carrying every label runs the job"
          placeholder="region=eu"
          value={value.labels}
          onChange={(next) => set('labels', next)}
          error={errors.labels}
          clearable
        />
        <TextInput
          label="Idempotency key"
          description="Submitting again with the same key returns the same job"
          value={value.idempotencyKey}
          onChange={(event) => set('idempotencyKey', event.currentTarget.value)}
          error={errors.idempotency_key}
        />
      </SimpleGrid>
    </Stack>
  )
}
