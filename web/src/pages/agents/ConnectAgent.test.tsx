import { screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import { renderWithProviders, signedInEachTest } from '../../test/render'
import { ConnectAgent } from './ConnectAgent'

function renderIt(canCreateKey: boolean) {
  return renderWithProviders(<ConnectAgent team="acme" canCreateKey={canCreateKey} />)
}

describe('the empty Agents page', () => {
  signedInEachTest()

  it('creates an agent key of the team and fills it into the command', async () => {
    const requests: Request[] = []
    vi.stubGlobal('fetch', async (request: Request) => {
      requests.push(request.clone())
      const body = { id: '00000000-0000-0000-0000-000000000001', kind: 'agent', name: 'k', prefix: 'cvk_1', scopes: [], created_at: '2026-06-01T00:00:00Z', expires_at: null, last_used_at: null, revoked_at: null, secret: 'cvk_1_secret' }
      return new Response(JSON.stringify(body), { status: 201, headers: { 'Content-Type': 'application/json' } })
    })
    renderIt(true)
    const command = screen.getByLabelText('Command to connect an agent')
    expect(command).toHaveTextContent(`CONVEYOR_AGENT_KEY=<agent key> conveyor agent --server ${window.location.origin} --demo`)
    await userEvent.setup().click(screen.getByRole('button', { name: 'Create agent key' }))
    expect(await screen.findByText(/only time the key is shown/)).toBeInTheDocument()
    expect(command).toHaveTextContent('CONVEYOR_AGENT_KEY=cvk_1_secret conveyor agent')
    expect(screen.queryByRole('button', { name: 'Create agent key' })).toBeNull()
    expect(new URL(requests[0].url).pathname).toBe('/api/v1/teams/acme/keys')
    expect(await requests[0].json()).toMatchObject({ kind: 'agent' })
  })

  it('offers no key to a role that may not create one', () => {
    renderIt(false)
    expect(screen.getByLabelText('Command to connect an agent')).toHaveTextContent('<agent key>')
    expect(screen.queryByRole('button', { name: 'Create agent key' })).toBeNull()
    expect(screen.getByText('Ask a team admin for an agent key.')).toBeInTheDocument()
  })
})
