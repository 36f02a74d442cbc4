/** Bookkeeping for a resumable event stream: the last id seen and the reconnect backoff. */

export const EVENT_KINDS = ['job', 'agent', 'log', 'artifact'] as const
export type EventKind = (typeof EVENT_KINDS)[number]

export interface BackoffOptions {
  initialMs?: number
  maxMs?: number
  /** 0..1: how much of each delay is randomised (spreads reconnects after a restart). */
  jitter?: number
  random?: () => number
}

export class StreamCursor {
  /** The id of the last event delivered; the stream resumes after it. */
  lastId: number | null = null
  /** Consecutive failed connection attempts since the last successful open. */
  failures = 0
  private readonly initialMs: number
  private readonly maxMs: number
  private readonly jitter: number
  private readonly random: () => number

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500
    this.maxMs = options.maxMs ?? 30_000
    this.jitter = options.jitter ?? 0.2
    this.random = options.random ?? Math.random
  }

  /** Record a delivered event id (ids only move forward). */
  seen(id: string | number | null | undefined): void {
    const n = typeof id === 'number' ? id : Number.parseInt(id ?? '', 10)
    if (Number.isSafeInteger(n) && n >= 0 && (this.lastId === null || n > this.lastId)) this.lastId = n
  }

  opened(): void {
    this.failures = 0
  }

  /** A connection failed: how long to wait before re-signing and reopening. */
  failed(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 20))
    this.failures += 1
    return Math.round(base * (1 - this.jitter * this.random()))
  }

  /** The signed URL with `after=<last id>` (and `kind` filters) added. */
  urlFor(signedUrl: string, kinds?: readonly EventKind[]): string {
    const url = new URL(signedUrl, 'http://placeholder.invalid')
    if (this.lastId !== null) url.searchParams.set('after', String(this.lastId))
    for (const kind of kinds ?? []) url.searchParams.append('kind', kind)
    const isAbsolute = /^[a-z][a-z0-9+.-]*:/i.test(signedUrl)
    return isAbsolute ? url.toString() : `${url.pathname}${url.search}`
  }
}
