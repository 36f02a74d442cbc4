import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { PAGE_LOAD, renderApp } from './test/app'

const TEAM_A = { id: '00000000-0000-0000-0000-00000000000a', name: 'Acme', slug: 'acme', permissions: [], role: 'viewer' }
const TEAM_B = { id: '00000000-0000-0000-0000-00000000000b', name: 'Beta', slug: 'beta', permissions: [], role: 'operator' }

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

/** A fake server: no session cookie at first; the login sets one; /me answers per team. */
function fakeServer(permissions: Record<string, string[]>) {
  let cookie = false
  const meTeams: (string | null)[] = []
  const fetch = vi.fn(async (request: Request) => {
    const path = new URL(request.url).pathname
    if (path === '/api/v1/auth/refresh') {
      return cookie ? json(200, { access_token: 'a2', refresh_token: null, expires_in: 900, token_type: 'bearer' }) : json(401, { error: { code: 'unauthenticated', message: 'no session', details: {} } })
    }
    if (path === '/api/v1/auth/login') {
      const body = (await request.json()) as { password: string }
      if (body.password !== 'right') return json(401, { error: { code: 'unauthenticated', message: 'wrong email or password', details: {} } })
      cookie = true
      return json(200, { access_token: 'a1', refresh_token: null, expires_in: 900, token_type: 'bearer' })
    }
    if (path === '/api/v1/auth/logout') {
      cookie = false
      return new Response(null, { status: 204 })
    }
    if (path === '/api/v1/me') {
      const asked = request.headers.get('X-Conveyor-Team')
      meTeams.push(asked)
      const team = asked === TEAM_B.id ? TEAM_B : TEAM_A
      return json(200, {
        kind: 'user',
        user: { id: '00000000-0000-0000-0000-0000000000ff', email: 'ada@example.com', display_name: 'Ada', is_superuser: false },
        key_id: null,
        team_id: team.id,
        team,
        permissions: permissions[team.slug] ?? [],
        teams: Object.keys(permissions).length > 1 ? [TEAM_A, TEAM_B] : [TEAM_A],
      })
    }
    return json(404, { error: { code: 'not_found', message: 'no such route', details: {} } })
  })
  return { fetch, meTeams }
}

describe('the app shell', { timeout: 30_000 }, () => {
  beforeEach(() => localStorage.clear())
  afterEach(() => vi.unstubAllGlobals())

  it('sends a signed-out visitor to sign-in, shows the server message, then returns to the page with its filters', async () => {
    const server = fakeServer({ acme: ['jobs:read', 'agents:read'] })
    vi.stubGlobal('fetch', server.fetch)
    const user = userEvent.setup()
    await renderApp('/jobs?state=failed')

    const email = await screen.findByLabelText(/Email/)
    expect(screen.getByLabelText('location')).toHaveTextContent('/signin?next=%2Fjobs%3Fstate%3Dfailed')
    await user.type(email, 'ada@example.com')
    await user.type(screen.getByLabelText(/Password/), 'wrong')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('wrong email or password')

    await user.clear(screen.getByLabelText(/Password/))
    await user.type(screen.getByLabelText(/Password/), 'right')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByRole('heading', { level: 1, name: 'Jobs' }, PAGE_LOAD)).toBeInTheDocument()
    expect(screen.getByLabelText('location')).toHaveTextContent('/jobs?state=failed')

    // A viewer: no "New job" in the navigation.
    const nav = screen.getByRole('navigation', { name: 'Main' })
    await waitFor(() => expect(server.meTeams.length).toBeGreaterThan(0))
    expect(within(nav).getByRole('link', { name: 'Jobs' })).toBeInTheDocument()
    expect(within(nav).getByRole('link', { name: 'Agents' })).toBeInTheDocument()
    expect(within(nav).getByRole('link', { name: 'API docs' })).toHaveAttribute('href', '/api/v1/docs')
    expect(within(nav).queryByRole('link', { name: 'New job' })).toBeNull()

    await user.click(screen.getByRole('button', { name: /User menu/ }))
    await user.click(await screen.findByRole('menuitem', { name: 'Sign out' }))
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeInTheDocument()
    expect(server.fetch.mock.calls.some(([r]) => new URL(r.url).pathname === '/api/v1/auth/logout')).toBe(true)
  })

  it('keeps a reload signed in through the cookie, shows "New job" to a submitter, and switches team', async () => {
    const server = fakeServer({ acme: ['jobs:read', 'jobs:create'], beta: ['jobs:read'] })
    vi.stubGlobal('fetch', server.fetch)
    // The cookie already exists: sign in once through the fake server.
    await server.fetch(new Request('http://localhost/api/v1/auth/login', { method: 'POST', body: JSON.stringify({ password: 'right' }) }))
    const user = userEvent.setup()
    await renderApp('/')

    expect(await screen.findByRole('heading', { level: 1, name: 'Jobs' }, PAGE_LOAD)).toBeInTheDocument()
    expect(screen.getByLabelText('location')).toHaveTextContent('/jobs')
    const nav = screen.getByRole('navigation', { name: 'Main' })
    expect(await within(nav).findByRole('link', { name: 'New job' })).toHaveAttribute('href', '/jobs/new')

    await user.click(screen.getByRole('combobox', { name: 'Team' }))
    await user.click(await screen.findByRole('option', { name: 'Beta' }))
    await waitFor(() => expect(server.meTeams.at(-1)).toBe(TEAM_B.id))
    await waitFor(() => expect(within(nav).queryByRole('link', { name: 'New job' })).toBeNull())
    expect(localStorage.getItem('conveyor.team')).toBe(TEAM_B.id)
  })

  it('skips the sign-in form when a session cookie is still good', async () => {
    const server = fakeServer({ acme: ['jobs:read', 'agents:read'] })
    vi.stubGlobal('fetch', server.fetch)
    await server.fetch(new Request('http://localhost/api/v1/auth/login', { method: 'POST', body: JSON.stringify({ password: 'right' }) }))
    await renderApp('/signin?next=%2Fagents')
    expect(await screen.findByRole('heading', { level: 1, name: 'Agents' }, PAGE_LOAD)).toBeInTheDocument()
    expect(screen.getByLabelText('location')).toHaveTextContent('/agents')
  })
})
