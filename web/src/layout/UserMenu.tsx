import { Avatar, Menu, UnstyledButton } from '@mantine/core'
import { IconLogout } from '@tabler/icons-react'
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
        <UnstyledButton aria-label={`User menu (${name})`}>
          <Avatar radius="xl" size="md" color="blue" name={name} />
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
