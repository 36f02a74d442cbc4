import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { LogChunk } from './buffer'
import { FakeEventSource } from '../../../test/FakeEventSource'
import { LogFeed } from './feed'

const JOB = '00000000-0000-0000-0000-0000000000aa'

const chunk = (seq: number, text: string): LogChunk => ({
  attempt: 1,
  seq,
  cursor: `1:${seq}`,
  created_at: '2026-01-01T00:00:00Z',
  lines: [{ ts: 1, stream: 'stdout', text }],
})

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } })

const texts = (feed: LogFeed) => feed.buffer.rows.flatMap((row) => (row.kind === 'line' ? [row.text] : []))

describe('LogFeed', () => {
  let reads: (string | null)[]
  beforeEach(() => {
    FakeEventSource.all = []
    reads = []
    vi.stubGlobal('EventSource', FakeEventSource)
    vi.stubGlobal(
      'fetch',
      vi.fn(async (request: Request) => {
        const url = new URL(request.url)
        if (request.method === 'POST') return json({ url: `/api/v1/jobs/${JOB}/logs/stream?sig=s`, expires_at: '2026-01-01T00:05:00Z' })
        reads.push(url.searchParams.get('after'))
        return json({ items: [chunk(1, 'one'), chunk(2, 'two')], next_cursor: '1:2' })
      }),
    )
  })
  afterEach(() => vi.unstubAllGlobals())

  it('reads the stored log, then follows the stream from where the read stopped, resuming after errors', async () => {
    const feed = new LogFeed(JOB, { initialMs: 1, jitter: 0 })
    feed.follow()
    feed.start()
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    expect(reads).toEqual([null])
    const first = FakeEventSource.all[0]
    expect(first.param('after')).toBe('1:2')
    expect(feed.status).toBe('following')

    first.send('log', chunk(3, 'three'))
    first.fail()
    expect(first.closed).toBe(true)
    expect(feed.status).toBe('reconnecting')
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(2))
    const second = FakeEventSource.all[1]
    expect(second.param('after')).toBe('1:3') // re-signed, after the last chunk it got
    second.open()
    second.send('log', chunk(4, 'four'))
    second.send('end', { state: 'succeeded', cursor: '1:4' })
    expect(second.closed).toBe(true)
    expect(feed.status).toBe('complete')
    expect(texts(feed)).toEqual(['one', 'two', 'three', 'four'])
    feed.stop()
  })

  it('only reads a finished job, and a stop before the answer drops it', async () => {
    const done = new LogFeed(JOB)
    done.start()
    await vi.waitFor(() => expect(done.status).toBe('complete'))
    expect(FakeEventSource.all).toHaveLength(0)
    expect(texts(done)).toEqual(['one', 'two'])

    const stopped = new LogFeed(JOB)
    stopped.start()
    stopped.stop() // React's StrictMode does this: the second start must not repeat lines
    stopped.start()
    await vi.waitFor(() => expect(stopped.status).toBe('complete'))
    expect(texts(stopped)).toEqual(['one', 'two'])
  })
})
