/**
 * The lines of a job's log as the viewer shows them: every attempt's lines in order, with a
 * separator row where an attempt starts. Appending is O(lines added); subscribers hear of
 * changes at most once per animation frame, so a burst of chunks is one render.
 */
import type { components } from '../../../api/schema.gen'
import { visibleText } from './ansi'

export type LogChunk = components['schemas']['LogChunk']

export interface LineRow {
  kind: 'line'
  attempt: number
  /** Seconds since the epoch, when the agent read the line (null when it did not say). */
  ts: number | null
  stream: string
  /** The raw text, ANSI escapes included. */
  raw: string
  /** The text as shown (ANSI escapes removed): what search looks in. */
  text: string
  /** `text` lower-cased, filled in by the first search that needs it. */
  lower?: string
}

export interface AttemptRow {
  kind: 'attempt'
  attempt: number
}

export type LogRow = LineRow | AttemptRow

type Schedule = (flush: () => void) => void

const defaultSchedule: Schedule =
  typeof requestAnimationFrame === 'function' ? (flush) => requestAnimationFrame(flush) : (flush) => setTimeout(flush, 16)

export class LogBuffer {
  readonly rows: LogRow[] = []
  /** How many rows are log lines (separators excluded). */
  lineCount = 0
  /** Changes on every append that added rows: the snapshot for useSyncExternalStore. */
  version = 0
  private lastAttempt: number | null = null
  private readonly listeners = new Set<() => void>()
  private scheduled = false

  private readonly schedule: Schedule

  constructor(schedule: Schedule = defaultSchedule) {
    this.schedule = schedule
  }

  /** Add chunks (in cursor order); listeners are told on the next frame. */
  append(chunks: readonly LogChunk[]): void {
    const before = this.rows.length
    for (const chunk of chunks) {
      if (chunk.attempt !== this.lastAttempt) {
        this.rows.push({ kind: 'attempt', attempt: chunk.attempt })
        this.lastAttempt = chunk.attempt
      }
      for (const line of chunk.lines) {
        const raw = typeof line.text === 'string' ? line.text : ''
        this.rows.push({
          kind: 'line',
          attempt: chunk.attempt,
          ts: typeof line.ts === 'number' ? line.ts : null,
          stream: typeof line.stream === 'string' ? line.stream : 'log',
          raw,
          text: visibleText(raw),
        })
        this.lineCount += 1
      }
    }
    if (this.rows.length !== before) this.changed()
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  getVersion = (): number => this.version

  private changed(): void {
    if (this.scheduled) return
    this.scheduled = true
    this.schedule(() => {
      this.scheduled = false
      this.version += 1
      for (const listener of this.listeners) listener()
    })
  }
}
