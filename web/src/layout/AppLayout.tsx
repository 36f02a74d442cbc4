import { AppShell, Burger, Group, NavLink, ScrollArea, Text } from '@mantine/core'
import { useDisclosure } from '@mantine/hooks'
import { IconApi, IconClock, IconListDetails, IconPlus, IconServer, IconStack2 } from '@tabler/icons-react'
import { Suspense } from 'react'
import { NavLink as RouterNavLink, Outlet } from 'react-router'
import { ErrorAlert } from '../components/ErrorAlert'
import { PageLoader } from '../components/PageLoader'
import { ReconnectingBanner } from '../live/ReconnectingBanner'
import { useRefetchOnReconnect } from '../live/useRefetchOnReconnect'
import { useMe } from '../session/hooks'
import { QUEUES_READ, SCHEDULES_READ } from '../session/permissions'
import { ColorSchemeToggle } from './ColorSchemeToggle'
import { TeamSwitcher } from './TeamSwitcher'
import { UserMenu } from './UserMenu'

/** The signed-in shell: header (team, theme, user), navigation, and the page. */
export function AppLayout() {
  const [opened, { toggle, close }] = useDisclosure()
  const { me, can, canCreate, error } = useMe()
  useRefetchOnReconnect()
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Text fw={700} size="lg">
              Conveyor
            </Text>
          </Group>
          <Group gap="sm" wrap="nowrap">
            {me && <TeamSwitcher me={me} />}
            <ColorSchemeToggle />
            <UserMenu me={me} />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main">
        <ScrollArea>
          <NavLink component={RouterNavLink} to="/jobs" end label="Jobs" leftSection={<IconListDetails size={18} aria-hidden />} onClick={close} />
          {canCreate && (
            <NavLink component={RouterNavLink} to="/jobs/new" label="New job" leftSection={<IconPlus size={18} aria-hidden />} onClick={close} />
          )}
          {can(SCHEDULES_READ) && (
            <NavLink component={RouterNavLink} to="/schedules" label="Schedules" leftSection={<IconClock size={18} aria-hidden />} onClick={close} />
          )}
          {can(QUEUES_READ) && (
            <NavLink component={RouterNavLink} to="/queues" label="Queues" leftSection={<IconStack2 size={18} aria-hidden />} onClick={close} />
          )}
          <NavLink component={RouterNavLink} to="/agents" label="Agents" leftSection={<IconServer size={18} aria-hidden />} onClick={close} />
          <NavLink href="/api/v1/docs" target="_blank" rel="noopener" label="API docs" leftSection={<IconApi size={18} aria-hidden />} />
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main>
        <ReconnectingBanner />
        <ErrorAlert error={error} action="see this team" />
        <Suspense fallback={<PageLoader />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  )
}
