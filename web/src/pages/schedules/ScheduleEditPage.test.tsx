import { screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PAGE_LOAD, renderApp } from '../../test/app'

const TEAM = { id: '00000000-0000-0000-0000-00000000000a', name: 'Acme', slug: 'acme', permissions: [], role: 'operator' }
const ID = '01a25052-1157-7181-ab95-bbcae0b547ad'
const EXPORT = {
  name: 'demo.export_csv',
  description: 'Export rows',
  agents: ['agent-1'],
  versions: [
    {
      schema_hash: 'h',
      last_seen_at: '2026-12-01T00:00:00Z',
      params_schema: { type: 'object', required: ['rows'], properties: { rows: { type: 'integer', minimum: 0, title: 'Rows' } } },
    },
  ],
}

function json(status: number, body: unknown): Response {
  return new Response(body === null ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

/** Answers the routes the form uses; a schedule named "taken" is a 409 like the server's. */
function fakeServer() {
  const created: Record<string, unknown>[] = []
  const fetch = vi.fn(async (request: Request) => {
    const url = new URL(request.url)
    const route = `${request.method} ${url.pathname}`
    switch (route) {
      case 'POST /api/v1/auth/refresh':
        return json(200, { access_token: 'a', refresh_token: null, expires_in: 900, token_type: 'bearer' })
      case 'GET /api/v1/me':
        return json(200, {
          kind: 'user',
          user: { id: '00000000-0000-0000-0000-0000000000ff', email: 'ada@example.com', display_name: 'Ada', is_superuser: false },
          key_id: null, team_id: TEAM.id, team: TEAM, teams: [TEAM],
          permissions: ['jobs:read', 'jobs:create', 'schedules:read', 'schedules:manage'],
        })  // prettier-ignore
      case 'GET /api/v1/actions':
        return json(200, { items: [EXPORT] })
      case 'POST /api/v1/schedules/preview':
        return json(200, { cron_description: 'At 02:30', next_fire_times: ['2026-12-08T01:30:00Z'] })
      case 'POST /api/v1/schedules': {
        const body = (await request.json()) as Record<string, unknown>
        if (body.name === 'taken') return json(409, { error: { code: 'conflict', message: 'a schedule named "taken" exists', details: {} } })
        created.push(body)
        return json(201, { ...body, id: ID, cron_description: 'At 02:30', next_fire_times: [], created_by: null, created_at: '2026-12-07T00:00:00Z', updated_at: '2026-12-07T00:00:00Z', last_tick: null, run_as_key_id: null })
      }
      case `GET /api/v1/schedules/${ID}`:
        return json(200, { ...created[0], id: ID, cron_description: 'At 02:30', next_fire_times: [], created_by: null, created_at: '2026-12-07T00:00:00Z', updated_at: '2026-12-07T00:00:00Z', last_tick: null, run_as_key_id: null })
      case `GET /api/v1/schedules/${ID}/ticks`:
        return json(200, { items: [], next_cursor: null })
      default:
        return json(404, { error: { code: 'not_found', message: `no route ${route}`, details: {} } })
    }
  })
  return { fetch, created }
}

describe('the new schedule page', { timeout: 30_000 }, () => {
  afterEach(() => vi.unstubAllGlobals())

  it('sends the form as a schedule, shows a taken name at Name, and opens the new schedule', async () => {
    const server = fakeServer()
    vi.stubGlobal('fetch', server.fetch)
    vi.stubGlobal('EventSource', class { close() {} addEventListener() {} })
    const user = userEvent.setup()
    await renderApp('/schedules/new')
    await user.type(await screen.findByRole('textbox', { name: 'Name' }, PAGE_LOAD), 'taken')
    await user.click(screen.getByPlaceholderText('Search the actions'))
    await user.click(await screen.findByRole('option', { name: /demo\.export_csv/ }))
    await user.type(await screen.findByRole('textbox', { name: /Rows/ }), '5')
    const cron = screen.getByRole('textbox', { name: /Cron expression/ })
    await user.clear(cron)
    await user.type(cron, '30 2 * * *')
    expect(await screen.findByText('At 02:30', {}, PAGE_LOAD)).toBeInTheDocument()
    await user.click(screen.getByRole('radio', { name: /Catch up/ }))

    await user.click(screen.getByRole('button', { name: 'Create schedule' }))
    const name = screen.getByRole('textbox', { name: 'Name' })
    await waitFor(() => expect(name).toHaveAttribute('aria-invalid', 'true'))
    expect(screen.getByText('a schedule named "taken" exists')).toBeInTheDocument()

    await user.clear(name)
    await user.type(name, 'nightly')
    await user.click(screen.getByRole('button', { name: 'Create schedule' }))
    await waitFor(() => expect(screen.getByLabelText('location')).toHaveTextContent(`/schedules/${ID}`), PAGE_LOAD)
    expect(server.created).toEqual([
      expect.objectContaining({
        name: 'nightly', action: 'demo.export_csv', params: { rows: 5 }, cron: '30 2 * * *',
        misfire_policy: 'catch_up', catchup_window_s: 3600, overlap: 'skip', queue: 'default', paused: false,
      }),
    ])  // prettier-ignore
    expect(await screen.findByRole('heading', { name: 'nightly', level: 1 }, PAGE_LOAD)).toBeInTheDocument()
  })
})
