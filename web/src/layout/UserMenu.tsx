import { Avatar, Menu, UnstyledButton } from '@mantine/core'
import { IconLogout, IconUser } from '@tabler/icons-react'
import { useQueryClient } from '@tanstack/react-query'
import { api } from '../api/client'
import type { Me } from '../session/hooks'

/** The signed-in user, with "Sign out". */
export function UserMenu({ me }: { me: Me | undefined }) {
  const queryClient = useQueryClient()
  const name = me?.user?.display_name || me?.user?.email || 'Account'
  const signOut = async () => {
    await api.logout().catch(() => undefined)
    queryClient.clear()
  }
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        {/* An icon, not initials: visible text missing from the accessible name fails WCAG 2.5.3. */}
        <UnstyledButton aria-label="User menu" title={name}>
          <Avatar radius="xl" size="md" color="blue">
            <IconUser size={20} aria-hidden />
          </Avatar>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>{me?.user?.email ?? name}</Menu.Label>
        {me?.team && <Menu.Label>Team: {me.team.name}</Menu.Label>}
        <Menu.Item leftSection={<IconLogout size={16} aria-hidden />} onClick={() => void signOut()}>
          Sign out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  )
}
