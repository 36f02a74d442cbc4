import { Select, Stack, Text } from '@mantine/core'
import type { Action } from './useActions'

interface ActionPickerProps {
  actions: Action[]
  value: string | null
  onChange: (name: string | null) => void
}

/** Who offers an action now, in words. */
export function offeredBy(action: Action): string {
  if (!action.agents.length) return 'No agent offers it now: a job waits until one does.'
  return `Offered by ${action.agents.join(', ')}`
}

/** A searchable list of the actions, each with its description and the agents offering it. */
export function ActionPicker({ actions, value, onChange }: ActionPickerProps) {
  const byName = new Map(actions.map((action) => [action.name, action]))
  const selected = value ? byName.get(value) : undefined
  return (
    <Stack gap="xs">
      <Select
        label="Action"
        placeholder="Search the actions"
        searchable
        nothingFoundMessage="No action matches"
        data={actions.map((action) => action.name)}
        value={value}
        onChange={onChange}
        required
        filter={({ options, search }) => {
          const needle = search.trim().toLowerCase()
          return options.filter((option) => {
            if (!('value' in option)) return true
            const action = byName.get(option.value)
            return !needle || option.value.toLowerCase().includes(needle) || (action?.description ?? '').toLowerCase().includes(needle)
          })
        }}
        renderOption={({ option }) => {
          const action = byName.get(option.value)
          return (
            <Stack gap={0}>
              <Text size="sm" fw={500}>
                {option.value}
              </Text>
              {action?.description && (
                <Text size="xs" c="dimmed" lineClamp={2}>
                  {action.description}
                </Text>
              )}
            </Stack>
          )
        }}
      />
      {selected && (
        <Stack gap={4}>
          {selected.description && <Text size="sm">{selected.description}</Text>}
          <Text size="sm" c="dimmed">
            {offeredBy(selected)}
          </Text>
        </Stack>
      )}
    </Stack>
  )
}
