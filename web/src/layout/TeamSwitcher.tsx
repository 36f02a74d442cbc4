import { Select } from '@mantine/core'
import type { Me } from '../session/hooks'
import { useSwitchTeam } from '../session/hooks'

/** Pick the team every request works in (only shown when the user has more than one). */
export function TeamSwitcher({ me }: { me: Me }) {
  const switchTeam = useSwitchTeam()
  if (me.teams.length < 2) return null
  return (
    <Select
      aria-label="Team"
      size="sm"
      w={200}
      allowDeselect={false}
      value={me.team_id ?? null}
      data={me.teams.map((team) => ({ value: team.id, label: team.name }))}
      onChange={(value) => value && value !== me.team_id && switchTeam(value)}
    />
  )
}
