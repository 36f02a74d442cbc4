import { screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { MemoryRouter, Route, Routes, useLocation } from 'react-router'
import { describe, expect, it, vi } from 'vitest'
import { renderWithProviders, signedInEachTest } from '../test/render'
import NewJobPage from './NewJobPage'

const JOB_ID = '0197a3c2-5b1e-7d7a-9f10-3c5e8d2a4b61'
const TEAM = { id: '00000000-0000-0000-0000-00000000000a', name: 'Acme', slug: 'acme', permissions: [], role: 'operator' }
const EXPORT = {
  name: 'demo.export_csv',
  description: 'Export `rows` records as CSV',
  agents: ['edge-1'],
  versions: [
    {
      schema_hash: 'h1',
      last_seen_at: '2026-06-01T00:00:00Z',
      params_schema: {
        title: 'demo.export_csv',
        type: 'object',
        required: ['rows'],
        properties: { rows: { title: 'Rows', type: 'integer', minimum: 0, maximum: 100 } },
      },
    },
  ],
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

/** /me, /actions, and POST /jobs answering each of `submits` in turn. */
function fakeServer(permissions: string[], submits: Response[]) {
  const bodies: unknown[] = []
  const fetch = vi.fn(async (request: Request) => {
    const path = new URL(request.url).pathname
    if (path === '/api/v1/me') {
      return json(200, { kind: 'user', user: null, key_id: null, team_id: TEAM.id, team: TEAM, permissions, teams: [TEAM] })
    }
    if (path === '/api/v1/actions') return json(200, { items: [EXPORT] })
    if (path === '/api/v1/jobs' && request.method === 'POST') {
      bodies.push(await request.json())
      return submits.shift() ?? json(500, { error: { code: 'internal_error', message: 'no answer left', details: {} } })
    }
    return json(404, { error: { code: 'not_found', message: 'no such route', details: {} } })
  })
  return { fetch, bodies }
}

function Where() {
  const location = useLocation()
  return <output aria-label="location">{location.pathname}</output>
}

function renderPage(path: string) {
  return renderWithProviders(
    <MemoryRouter initialEntries={[path]}>
      <Routes>
        <Route path="/jobs/new" element={<NewJobPage />} />
        <Route path="/jobs/:jobId" element={<p>job page</p>} />
      </Routes>
      <Where />
    </MemoryRouter>,
  )
}

describe('the New job page', () => {
  signedInEachTest()

  it('shows the server refusal at the field it names, then submits and goes to the job', async () => {
    const refusal = json(422, {
      error: { code: 'invalid_params', message: 'params.rows: 50 is not a multiple of 7', details: { path: ['rows'], validator: 'multipleOf' } },
    })
    const created = json(201, { id: JOB_ID, action: 'demo.export_csv' })
    const server = fakeServer(['jobs:create'], [refusal, created])
    vi.stubGlobal('fetch', server.fetch)
    const user = userEvent.setup()
    renderPage('/jobs/new?action=demo.export_csv')

    const rows = await screen.findByLabelText(/Rows/)
    expect(screen.getAllByText('Export `rows` records as CSV').length).toBeGreaterThan(0) // (and in the closed option list)
    expect(screen.getByText('Offered by edge-1')).toBeInTheDocument()
    await user.type(rows, '50')
    await user.click(screen.getByRole('button', { name: 'Submit job' }))
    // Under the field (Mantine's error) and in rjsf's hidden list the field describes itself with.
    expect((await screen.findAllByText('50 is not a multiple of 7')).length).toBeGreaterThan(0)
    expect(rows).toHaveAttribute('aria-invalid', 'true')
    expect(server.bodies).toEqual([{ action: 'demo.export_csv', params: { rows: 50 } }])

    await user.type(rows, '{backspace}{backspace}49')
    expect(screen.queryAllByText('50 is not a multiple of 7')).toEqual([])
    await user.type(screen.getByLabelText('Queue'), 'exports')
    await user.click(screen.getByRole('button', { name: 'Submit job' }))
    await waitFor(() => expect(server.bodies).toHaveLength(2))
    await waitFor(() => expect(screen.getByLabelText('location')).toHaveTextContent(`/jobs/${JOB_ID}`))
    expect(server.bodies[1]).toEqual({ action: 'demo.export_csv', params: { rows: 49 }, queue: 'exports' })
  }, 20_000) // typing into Mantine inputs under jsdom is slow on a busy machine

  it('checks the schema in the browser before sending', async () => {
    const server = fakeServer(['jobs:create'], [])
    vi.stubGlobal('fetch', server.fetch)
    const user = userEvent.setup()
    renderPage('/jobs/new?action=demo.export_csv')
    const rows = await screen.findByLabelText(/Rows/)
    await user.type(rows, '500')
    await user.click(screen.getByRole('button', { name: 'Submit job' }))
    expect((await screen.findAllByText('500 is greater than 100')).length).toBeGreaterThan(0)
    expect(rows).toHaveAttribute('aria-invalid', 'true')
    expect(server.bodies).toEqual([])
  }, 20_000)

  it('shows no form to a role that may not submit', async () => {
    vi.stubGlobal('fetch', fakeServer(['jobs:read'], []).fetch)
    renderPage('/jobs/new?action=demo.export_csv')
    expect(await screen.findByText(/does not allow submitting jobs/)).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Submit job' })).toBeNull()
    expect(screen.queryByLabelText(/Rows/)).toBeNull()
  })
})
