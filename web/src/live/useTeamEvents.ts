/**
 * Follow the team's events (or one job's) over SSE. The stream URL is signed (EventSource
 * cannot send a bearer header) and expires, so on any error the hook closes the source,
 * waits with backoff, re-signs and reopens after the last id it delivered: no event is
 * lost or repeated across reconnects. Pages decide what an event does to their caches.
 */
import { useEffect, useRef, useState } from 'react'
import { client, unwrap } from '../api/client'
import type { components } from '../api/schema.gen'
import { registerStream, type StreamState } from './connection'
import { EVENT_KINDS, StreamCursor, type BackoffOptions, type EventKind } from './cursor'

export type TeamEvent = components['schemas']['EventOut']

export interface TeamEventsOptions {
  /** Only this job's events. */
  jobId?: string
  /** Only these kinds (default: all). */
  kinds?: readonly EventKind[]
  /** Resume after this event id instead of starting at the present. */
  after?: number
  /** Set false to keep the stream closed. */
  enabled?: boolean
  /** Reconnect delays (read when the stream opens). */
  backoff?: BackoffOptions
}

export function useTeamEvents(onEvent: (event: TeamEvent) => void, options: TeamEventsOptions = {}): StreamState {
  const { jobId, after, enabled = true } = options
  const kindsKey = (options.kinds ?? []).join(',')
  const handler = useRef(onEvent)
  const backoff = useRef(options.backoff)
  const [state, setState] = useState<StreamState>('connecting')

  useEffect(() => {
    handler.current = onEvent
  }, [onEvent])

  useEffect(() => {
    if (!enabled) return undefined
    const kinds = kindsKey ? (kindsKey.split(',') as EventKind[]) : undefined
    const cursor = new StreamCursor(backoff.current)
    if (after !== undefined) cursor.seen(after)
    const report = registerStream()
    let source: EventSource | null = null
    let timer: ReturnType<typeof setTimeout> | undefined
    let stopped = false

    const update = (next: StreamState) => {
      if (stopped) return
      setState(next)
      report(next)
    }

    const deliver = (message: MessageEvent<string>) => {
      cursor.seen(message.lastEventId)
      let event: TeamEvent
      try {
        event = JSON.parse(message.data) as TeamEvent
      } catch {
        return
      }
      cursor.seen(event.seq)
      handler.current(event)
    }

    const retry = () => {
      source?.close()
      source = null
      if (stopped) return
      update('reconnecting')
      timer = setTimeout(connect, cursor.failed())
    }

    async function connect() {
      try {
        const signed = await unwrap(client.POST('/api/v1/events/url', { body: jobId ? { job_id: jobId } : {} }))
        if (stopped) return
        source = new EventSource(cursor.urlFor(signed.url, kinds))
        source.onopen = () => {
          cursor.opened()
          update('open')
        }
        source.onerror = retry
        for (const kind of EVENT_KINDS) source.addEventListener(kind, deliver)
      } catch {
        retry()
      }
    }

    void connect()
    return () => {
      stopped = true
      clearTimeout(timer)
      source?.close()
      report('closed')
    }
  }, [jobId, kindsKey, after, enabled])

  return enabled ? state : 'closed'
}
