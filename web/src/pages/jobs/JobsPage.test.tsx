import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PAGE_LOAD, renderApp } from '../../test/app'
import { makeJob } from './testJob'

const TEAM = { id: '00000000-0000-0000-0000-00000000000a', name: 'Acme', slug: 'acme', permissions: [], role: 'viewer' }
const DEAD_JOB = makeJob({
  id: '01a25052-1157-7181-ab95-bbcae0b547ad',
  action: 'demo.fail',
  state: 'dead',
  attempt: 1,
  max_attempts: 1,
  created_by: { kind: 'user', id: '00000000-0000-0000-0000-0000000000ff', name: 'Ada' },
})

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

/** A signed-in session whose role holds `permissions`; records every jobs-list query. */
function fakeServer(permissions: string[]) {
  const listed: URLSearchParams[] = []
  const fetch = vi.fn(async (request: Request) => {
    const url = new URL(request.url)
    switch (url.pathname) {
      case '/api/v1/auth/refresh':
        return json(200, { access_token: 'a', refresh_token: null, expires_in: 900, token_type: 'bearer' })
      case '/api/v1/me':
        return json(200, {
          kind: 'user',
          user: { id: '00000000-0000-0000-0000-0000000000ff', email: 'ada@example.com', display_name: 'Ada', is_superuser: false },
          key_id: null,
          team_id: TEAM.id,
          team: TEAM,
          permissions,
          teams: [TEAM],
        })
      case '/api/v1/jobs': {
        listed.push(url.searchParams)
        const match = url.searchParams.get('state') === 'dead' && !url.searchParams.has('q')
        return json(200, { items: match ? [DEAD_JOB] : [], next_cursor: null })
      }
      case '/api/v1/queues':
      case '/api/v1/actions':
      case '/api/v1/agents':
        return json(200, { items: [] })
      default:
        return json(404, { error: { code: 'not_found', message: 'no such route', details: {} } })
    }
  })
  return { fetch, listed }
}

// jsdom lays nothing out, so the virtualiser would show no row: here it shows them all.
vi.mock('@tanstack/react-virtual', () => ({
  useVirtualizer: ({ count, estimateSize }: { count: number; estimateSize: () => number }) => {
    const size = estimateSize()
    const items = Array.from({ length: count }, (_, index) => ({ index, key: index, start: index * size, end: (index + 1) * size, size, lane: 0 }))
    return { getVirtualItems: () => items, getTotalSize: () => count * size }
  },
}))

// The first render imports the whole app (slow on a busy machine).
describe('the jobs page', { timeout: 30_000 }, () => {
  afterEach(() => vi.unstubAllGlobals())

  it('asks for what the URL says, and puts the search into the URL once typing pauses', async () => {
    const server = fakeServer(['jobs:read', 'jobs:cancel', 'jobs:retry'])
    vi.stubGlobal('fetch', server.fetch)
    const user = userEvent.setup()
    await renderApp('/jobs?state=dead&action=demo.fail')

    const row = await screen.findByRole('link', { name: DEAD_JOB.id.slice(-8) }, PAGE_LOAD)
    expect(row).toHaveAttribute('href', `/jobs/${DEAD_JOB.id}`)
    const first = server.listed[0]
    expect(first.getAll('state')).toEqual(['dead'])
    expect(first.get('action')).toBe('demo.fail')
    expect(screen.getByText('Ada')).toBeInTheDocument()
    expect(screen.getByRole('checkbox', { name: 'Select all loaded jobs' })).toBeInTheDocument()

    await user.type(screen.getByRole('textbox', { name: 'Search' }), 'abc')
    await waitFor(() => expect(screen.getByLabelText('location')).toHaveTextContent('/jobs?state=dead&action=demo.fail&q=abc'), PAGE_LOAD)
    await waitFor(() => expect(server.listed.at(-1)?.get('q')).toBe('abc'), PAGE_LOAD)
    // Typed, not yet committed: one request for "abc", none for "a" or "ab".
    expect(server.listed.filter((query) => query.has('q')).map((query) => query.get('q'))).toEqual(['abc'])
    expect(await screen.findByText('No job matches these filters.', {}, PAGE_LOAD)).toBeInTheDocument()
  })

  it('shows a viewer no checkboxes, bulk buttons or "New job"', async () => {
    vi.stubGlobal('fetch', fakeServer(['jobs:read']).fetch)
    await renderApp('/jobs?state=dead')
    const table = await screen.findByRole('region', { name: 'Jobs table' }, PAGE_LOAD)
    expect(within(table).getByText('demo.fail')).toBeInTheDocument()
    expect(screen.queryAllByRole('checkbox')).toHaveLength(0)
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull()
    expect(screen.queryByRole('link', { name: 'New job' })).toBeNull()
  })

  it('tells a new team how to submit its first job', async () => {
    vi.stubGlobal('fetch', fakeServer(['jobs:read', 'jobs:create']).fetch)
    await renderApp('/jobs')
    expect(await screen.findByRole('heading', { name: 'No jobs yet' }, PAGE_LOAD)).toBeInTheDocument()
    expect(screen.getByRole('link', { name: 'Submit your first job' })).toHaveAttribute('href', '/jobs/new')
    expect(screen.getByText(/conveyor submit demo\.echo/)).toBeInTheDocument()
  })
})
