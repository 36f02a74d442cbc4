import { MantineProvider } from '@mantine/core'
import { act, render, screen, waitFor } from '@testing-library/react'
import { useState } from 'react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FakeEventSource } from '../test/FakeEventSource'
import { ReconnectingBanner } from './ReconnectingBanner'
import { useTeamEvents, type TeamEvent } from './useTeamEvents'

const emit = (source: FakeEventSource, kind: string, seq: number) => {
  const data: TeamEvent = { seq, kind, object_id: '00000000-0000-0000-0000-000000000001', data: {}, created_at: '2026-01-01T00:00:00Z' }
  source.send(kind, data, String(seq))
}

function Probe({ jobId }: { jobId?: string }) {
  const [seen, setSeen] = useState<number[]>([])
  const state = useTeamEvents((event) => setSeen((all) => [...all, event.seq]), { jobId, backoff: { initialMs: 1, jitter: 0 } })
  return (
    <MantineProvider>
      <ReconnectingBanner />
      <p>state: {state}</p>
      <p>seen: {seen.join(',')}</p>
    </MantineProvider>
  )
}

describe('useTeamEvents', () => {
  let signed: unknown[]
  beforeEach(() => {
    FakeEventSource.all = []
    signed = []
    vi.stubGlobal('EventSource', FakeEventSource)
    vi.stubGlobal(
      'fetch',
      vi.fn(async (request: Request) => {
        signed.push(await request.json())
        const n = signed.length
        return new Response(JSON.stringify({ url: `/api/v1/events?sig=${n}`, expires_at: '2026-01-01T00:05:00Z' }), {
          status: 200,
          headers: { 'Content-Type': 'application/json' },
        })
      }),
    )
  })
  afterEach(() => vi.unstubAllGlobals())

  it('re-signs and resumes after the last event when the stream breaks, with a banner meanwhile', async () => {
    const view = render(<Probe jobId="00000000-0000-0000-0000-0000000000aa" />)
    await waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    const first = FakeEventSource.all[0]
    expect(first.url).toBe('/api/v1/events?sig=1')
    expect(signed[0]).toEqual({ job_id: '00000000-0000-0000-0000-0000000000aa' })

    act(() => {
      first.open()
      emit(first, 'job', 7)
      emit(first, 'log', 8)
    })
    expect(screen.getByText('state: open')).toBeInTheDocument()
    expect(screen.getByText('seen: 7,8')).toBeInTheDocument()
    expect(screen.queryByText('Reconnecting to the server…')).toBeNull()

    act(() => first.fail())
    expect(first.closed).toBe(true)
    expect(screen.getByText('Reconnecting to the server…')).toBeInTheDocument()

    await waitFor(() => expect(FakeEventSource.all).toHaveLength(2))
    const second = FakeEventSource.all[1]
    expect(second.url).toBe('/api/v1/events?sig=2&after=8')
    act(() => {
      second.open()
      emit(second, 'agent', 9)
    })
    expect(screen.getByText('state: open')).toBeInTheDocument()
    expect(screen.getByText('seen: 7,8,9')).toBeInTheDocument()
    expect(screen.queryByText('Reconnecting to the server…')).toBeNull()

    view.unmount()
    expect(second.closed).toBe(true)
  })

  it('keeps retrying while the server cannot sign a URL', async () => {
    let down = 2
    const ok = vi.mocked(fetch).getMockImplementation()!
    vi.mocked(fetch).mockImplementation(async (input) => {
      if (down > 0) {
        down -= 1
        throw new TypeError('Failed to fetch')
      }
      return ok(input as Request)
    })
    render(<Probe />)
    await waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    expect(down).toBe(0)
    expect(screen.getByText('Reconnecting to the server…')).toBeInTheDocument()
    act(() => FakeEventSource.all[0].open())
    expect(screen.queryByText('Reconnecting to the server…')).toBeNull()
  })
})
