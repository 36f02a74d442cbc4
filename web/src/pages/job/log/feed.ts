/**
 * Keeps a LogBuffer filled: reads what is stored (GET, big pages), then, while the job can
 * still write, follows the log stream (SSE on a signed URL) from the same cursor. On a
 * stream error it closes, backs off, re-signs and resumes after the last chunk it got, so no
 * chunk is lost or repeated. The stream's `end` event says the whole log was sent.
 */
import { client, unwrap } from '../../../api/client'
import { registerStream } from '../../../live/connection'
import { StreamCursor, type BackoffOptions } from '../../../live/cursor'
import { LogBuffer, type LogChunk } from './buffer'
import { readLogPages } from './pages'

export type FeedStatus = 'loading' | 'following' | 'reconnecting' | 'complete' | 'failed'

export class LogFeed {
  readonly buffer = new LogBuffer()
  status: FeedStatus = 'loading'
  error: unknown = null
  /** The last chunk in the buffer: every read and stream resumes after it. */
  private cursor: string | null = null
  private loaded = false
  private wantFollow = false
  private streaming = false
  /** Bumped by start() and stop(): work of an older run finds it changed and drops out. */
  private run = 0
  private active = false
  private source: EventSource | null = null
  private timer: ReturnType<typeof setTimeout> | undefined
  private abort: AbortController | null = null
  private readonly backoff: StreamCursor
  private report: ((state: 'open' | 'reconnecting' | 'closed') => void) | null = null
  private readonly listeners = new Set<() => void>()
  private readonly jobId: string

  constructor(jobId: string, backoff?: BackoffOptions) {
    this.jobId = jobId
    this.backoff = new StreamCursor(backoff)
  }

  /** Read the stored log (and follow it, when asked to); again after stop() it resumes. */
  start(): void {
    if (this.active) return
    this.active = true
    this.run += 1
    this.report = registerStream()
    this.abort = new AbortController()
    if (!this.loaded) void this.load(this.run)
    else if (this.wantFollow) this.openStream()
  }

  stop(): void {
    if (!this.active) return
    this.active = false
    this.run += 1
    this.abort?.abort()
    clearTimeout(this.timer)
    this.source?.close()
    this.source = null
    this.streaming = false
    this.report?.('closed')
    this.report = null
  }

  /** The job can still write (not finished): follow the stream once the stored log is read. */
  follow(): void {
    this.wantFollow = true
    if (this.active && this.loaded && !this.streaming) this.openStream()
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  getStatus = (): FeedStatus => this.status

  private setStatus(status: FeedStatus): void {
    this.report?.(status === 'reconnecting' ? 'reconnecting' : 'open')
    if (status === this.status) return
    this.status = status
    for (const listener of this.listeners) listener()
  }

  private add(chunks: LogChunk[]): void {
    this.cursor = chunks[chunks.length - 1].cursor
    this.buffer.append(chunks)
  }

  private async load(run: number): Promise<void> {
    try {
      await readLogPages(this.jobId, this.cursor, (chunks) => run === this.run && this.add(chunks), this.abort?.signal)
    } catch (error) {
      if (run !== this.run) return
      this.error = error
      this.setStatus('failed')
      return
    }
    if (run !== this.run) return
    this.loaded = true
    if (this.wantFollow) this.openStream()
    else this.setStatus('complete')
  }

  private openStream(): void {
    this.streaming = true
    this.setStatus('following')
    void this.connect(this.run)
  }

  private async connect(run: number): Promise<void> {
    try {
      const signed = await unwrap(
        client.POST('/api/v1/jobs/{job_id}/logs/stream/url', { params: { path: { job_id: this.jobId } } }),
      )
      if (run !== this.run) return
      const url = new URL(signed.url, window.location.origin)
      if (this.cursor) url.searchParams.set('after', this.cursor)
      const source = new EventSource(`${url.pathname}${url.search}`)
      this.source = source
      source.onopen = () => {
        this.backoff.opened()
        this.setStatus('following')
      }
      source.onerror = () => this.retry(run)
      source.addEventListener('log', (message: MessageEvent<string>) => {
        this.add([JSON.parse(message.data) as LogChunk])
      })
      source.addEventListener('end', () => {
        source.close()
        this.streaming = false
        this.wantFollow = false
        this.setStatus('complete')
      })
    } catch {
      this.retry(run)
    }
  }

  private retry(run: number): void {
    this.source?.close()
    this.source = null
    if (run !== this.run) return
    this.setStatus('reconnecting')
    this.timer = setTimeout(() => void this.connect(run), this.backoff.failed())
  }
}
