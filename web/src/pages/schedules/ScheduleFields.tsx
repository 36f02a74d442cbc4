import { Checkbox, NumberInput, Radio, Select, SimpleGrid, Stack, TagsInput, Text, Textarea, TextInput } from '@mantine/core'
import { useMemo } from 'react'
import { CronField } from './CronField'
import type { FormErrors, ScheduleFormValue } from './form'
import { timeZones } from './form'
import { MISFIRE, OVERLAP } from './policies'

interface Props {
  value: ScheduleFormValue
  onChange: (next: ScheduleFormValue) => void
  errors: FormErrors
  /** Editing an existing schedule (no "start paused": pause it from its page). */
  editing: boolean
}

/** When it runs (cron, time zone, policies) and the job options of each run. */
export function ScheduleTimingFields({ value, onChange, errors, editing }: Props) {
  const set = <K extends keyof ScheduleFormValue>(key: K, next: ScheduleFormValue[K]) => onChange({ ...value, [key]: next })
  const zones = useMemo(() => {
    const all = timeZones()
    return all.includes(value.timezone) ? all : [value.timezone, ...all]
  }, [value.timezone])
  return (
    <Stack gap="md">
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <CronField value={value.cron} onChange={(cron) => set('cron', cron)} timezone={value.timezone} error={errors.cron} />
        <Select
          label="Time zone"
          description="The cron expression is read in this zone (daylight saving included)"
          searchable
          data={zones}
          value={value.timezone}
          onChange={(zone) => set('timezone', zone ?? 'UTC')}
          allowDeselect={false}
          nothingFoundMessage="No such time zone"
          error={errors.timezone}
          limit={100}
        />
      </SimpleGrid>
      <Radio.Group
        label="Missed times (after no server ran)"
        value={value.misfire}
        onChange={(next) => set('misfire', next as ScheduleFormValue['misfire'])}
        error={errors.misfire_policy}
      >
        <Stack gap={6} mt={6}>
          {MISFIRE.map((policy) => (
            <Radio key={policy.value} value={policy.value} label={policy.label} description={policy.help} />
          ))}
        </Stack>
      </Radio.Group>
      {value.misfire !== 'skip' && (
        <NumberInput
          label="Catch-up window (minutes)"
          description="A missed time older than this is recorded as skipped, never run"
          min={0}
          max={10080}
          clampBehavior="none"
          value={value.catchupMinutes}
          onChange={(next) => set('catchupMinutes', next)}
          error={errors.catchup_window_s}
          maw={320}
        />
      )}
      <Radio.Group
        label="When the previous run is still live"
        value={value.overlap}
        onChange={(next) => set('overlap', next as ScheduleFormValue['overlap'])}
        error={errors.overlap}
      >
        <Stack gap={6} mt={6}>
          {OVERLAP.map((policy) => (
            <Radio key={policy.value} value={policy.value} label={policy.label} description={policy.help} />
          ))}
        </Stack>
      </Radio.Group>
      {!editing && (
        <Checkbox
          label="Start paused"
          description="Nothing runs until you resume it"
          checked={value.paused}
          onChange={(event) => set('paused', event.currentTarget.checked)}
        />
      )}
    </Stack>
  )
}

/** Name and description of the schedule. */
export function ScheduleNameFields({ value, onChange, errors }: Omit<Props, 'editing'>) {
  const set = <K extends keyof ScheduleFormValue>(key: K, next: ScheduleFormValue[K]) => onChange({ ...value, [key]: next })
  return (
    <SimpleGrid cols={{ base: 1, sm: 2 }}>
      <TextInput
        label="Name"
        description="Unique in the team"
        required
        maxLength={100}
        value={value.name}
        onChange={(event) => set('name', event.currentTarget.value)}
        error={errors.name}
      />
      <Textarea
        label="Description"
        description="What it is for (optional)"
        rows={1}
        maxLength={2000}
        value={value.description}
        onChange={(event) => set('description', event.currentTarget.value)}
        error={errors.description}
      />
    </SimpleGrid>
  )
}

/** Queue, priority, labels, attempts and timeout of each run; empty takes the defaults. */
export function RunOptionsFields({ value, onChange, errors }: Omit<Props, 'editing'>) {
  const set = <K extends keyof ScheduleFormValue>(key: K, next: ScheduleFormValue[K]) => onChange({ ...value, [key]: next })
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
        <NumberInput
          label="Max attempts"
          placeholder="the server's default"
          allowDecimal={false}
          min={1}
          clampBehavior="none"
          value={value.maxAttempts}
          onChange={(next) => set('maxAttempts', next)}
          error={errors.max_attempts}
        />
        <NumberInput
          label="Timeout (seconds)"
          placeholder="the action's default"
          min={0}
          clampBehavior="none"
          value={value.timeoutS}
          onChange={(next) => set('timeoutS', next)}
          error={errors.timeout_s}
        />
      </SimpleGrid>
      <TagsInput
        label="Labels"
        description="key=value; only an agent carrying every label runs the jobs"
        placeholder="region=eu"
        value={value.labels}
        onChange={(next) => set('labels', next)}
        error={errors.labels}
        clearable
      />
      <Text size="xs" c="dimmed">
        Each run is a job with these options, submitted with the creator's rights at its fire time.
      </Text>
    </Stack>
  )
}
