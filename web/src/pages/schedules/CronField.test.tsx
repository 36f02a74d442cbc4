import { screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { useState } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { renderWithProviders, signedInEachTest } from '../../test/render'
import { CronField } from './CronField'

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

// The server's preview: every 15 minutes, and anything with "61" is out of range.
function previewServer() {
  const asked: unknown[] = []
  const fetch = vi.fn(async (request: Request) => {
    const body = (await request.json()) as { cron: string; timezone: string }
    asked.push(body)
    if (body.cron.includes('61')) {
      return json(422, { error: { code: 'invalid_input', message: 'cron: minute 61 is out of range (0-59)', details: { field: 'cron' } } })
    }
    return json(200, { cron_description: 'Every 15 minutes', next_fire_times: ['2026-12-07T09:15:00Z', '2026-12-07T09:30:00Z'] })
  })
  return { fetch, asked }
}

function Field({ timezone }: { timezone: string }) {
  const [cron, setCron] = useState('*/15 * * * *')
  return <CronField value={cron} onChange={setCron} timezone={timezone} />
}

describe('the cron field', () => {
  signedInEachTest()

  it("shows the server's reading of the expression as you type, or what is wrong with it", async () => {
    const server = previewServer()
    vi.stubGlobal('fetch', server.fetch)
    renderWithProviders(<Field timezone="Europe/Berlin" />)
    expect(await screen.findByText('Every 15 minutes')).toBeInTheDocument()
    expect(screen.getByText('Mon 2026-12-07 10:15')).toBeInTheDocument() // in the schedule's zone
    expect(server.asked[0]).toEqual({ cron: '*/15 * * * *', timezone: 'Europe/Berlin', count: 5 })

    const input = screen.getByRole('textbox', { name: /Cron expression/ })
    await userEvent.clear(input)
    await userEvent.type(input, '61 * * * *')
    await waitFor(() => expect(input).toHaveAttribute('aria-invalid', 'true'))
    expect(screen.getByText('minute 61 is out of range (0-59)')).toBeInTheDocument()
    expect(screen.queryByText('Every 15 minutes')).toBeNull()
    // Typed, then sent once typing paused: no request per keystroke.
    expect(server.asked.length).toBeLessThanOrEqual(3)
  })
})
