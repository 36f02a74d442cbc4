import { Button, type ComboboxData, Group, MultiSelect, Pill, Select, TextInput } from '@mantine/core'
import { useDebouncedCallback } from '@mantine/hooks'
import { IconSearch } from '@tabler/icons-react'
import { lazy, Suspense, useState } from 'react'
import { isFiltered, JOB_STATES, type JobFilters, type JobState } from './filters'
import { useFilterOptions } from './useFilterOptions'

const SEARCH_DEBOUNCE_MS = 300

interface Props {
  filters: JobFilters
  onChange: (patch: Partial<JobFilters>) => void
  onClear: () => void
}

/** Keep a value that is in the URL but not (or no longer) among the choices. */
function withCurrent(choices: string[], current: string | null): string[] {
  return current && !choices.includes(current) ? [current, ...choices] : choices
}

// The date pickers (and their styles) load on their own, after the table: the list
// shows sooner, and only someone who opens a picker waits for it.
const TimeFilter = lazy(() => import('./TimeFilter'))

/** Every filter of the jobs list; each change lands in the URL. */
export function JobFiltersBar({ filters, onChange, onClear }: Props) {
  const options = useFilterOptions()
  const agents =
    filters.agent_id && !options.agentNames.has(filters.agent_id)
      ? [{ value: filters.agent_id, label: filters.agent_id }, ...options.agents]
      : options.agents
  return (
    <Group align="flex-end" gap="sm" wrap="wrap">
      <SearchInput value={filters.q} onCommit={(q) => onChange({ q })} />
      <MultiSelect
        label="State"
        placeholder={filters.state.length ? undefined : 'Any state'}
        data={[...JOB_STATES]}
        value={filters.state}
        onChange={(state) => onChange({ state: state as JobState[] })}
        clearable
        w={240}
      />
      <ChoiceFilter label="Queue" data={withCurrent(options.queues, filters.queue)} value={filters.queue} onChange={(queue) => onChange({ queue })} w={150} />
      <ChoiceFilter label="Action" data={withCurrent(options.actions, filters.action)} value={filters.action} onChange={(action) => onChange({ action })} w={190} />
      <ChoiceFilter label="Agent" data={agents} value={filters.agent_id} onChange={(agent_id) => onChange({ agent_id })} w={160} />
      <Suspense fallback={<TextInput label="Created after" placeholder="Any time" disabled w={180} />}>
        <TimeFilter label="Created after" value={filters.created_after} onChange={(created_after) => onChange({ created_after })} />
      </Suspense>
      <Suspense fallback={<TextInput label="Created before" placeholder="Any time" disabled w={180} />}>
        <TimeFilter label="Created before" value={filters.created_before} onChange={(created_before) => onChange({ created_before })} />
      </Suspense>
      {filters.schedule_id && (
        <Pill size="lg" withRemoveButton onRemove={() => onChange({ schedule_id: null })} removeButtonProps={{ 'aria-label': 'Show the jobs of every schedule' }} mb={4}>
          Runs of schedule …{filters.schedule_id.slice(-8)}
        </Pill>
      )}
      {isFiltered(filters) && (
        <Button variant="subtle" onClick={onClear}>
          Clear filters
        </Button>
      )}
    </Group>
  )
}

interface ChoiceProps {
  label: string
  data: ComboboxData
  value: string | null
  onChange: (value: string | null) => void
  w: number
}

/** One of a list, or any ("Any queue"). */
function ChoiceFilter({ label, data, value, onChange, w }: ChoiceProps) {
  return <Select label={label} placeholder={`Any ${label.toLowerCase()}`} data={data} value={value} onChange={onChange} searchable clearable w={w} />
}

/** The text search: typed freely, committed to the URL once typing pauses. */
function SearchInput({ value, onCommit }: { value: string | null; onCommit: (q: string | null) => void }) {
  const [text, setText] = useState(value ?? '')
  const [shown, setShown] = useState(value)
  const [sent, setSent] = useState(value)
  if (value !== shown) {
    setShown(value)
    if (value !== sent) {
      // Not our own commit (back/forward, "Clear filters"): show what the URL says.
      setSent(value)
      setText(value ?? '')
    }
  }
  const commit = useDebouncedCallback((next: string) => {
    const q = next.trim() || null
    setSent(q)
    onCommit(q)
  }, SEARCH_DEBOUNCE_MS)
  return (
    <TextInput
      label="Search"
      placeholder="Id prefix, action or params text"
      leftSection={<IconSearch size={16} aria-hidden />}
      value={text}
      onChange={(event) => {
        setText(event.currentTarget.value)
        commit(event.currentTarget.value)
      }}
      w={260}
    />
  )
}
