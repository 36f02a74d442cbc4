import { memo } from 'react'
import { lineHtml, type Range } from './ansi'
import type { LogRow } from './buffer'

export const ROW_HEIGHT = 20

const pad = (n: number, width = 2) => String(n).padStart(width, '0')

/** A line's time of day (local), to the millisecond. */
export function formatTs(ts: number): string {
  const d = new Date(ts * 1000)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

interface Props {
  row: LogRow
  top: number
  ranges: readonly Range[]
  /** Index in `ranges` of the current match, or -1. */
  current: number
  showTs: boolean
}

/** One row of the virtual list: an attempt separator or a log line (escaped, coloured). */
export const LogRowView = memo(function LogRowView({ row, top, ranges, current, showTs }: Props) {
  const style = { transform: `translateY(${top}px)` }
  if (row.kind === 'attempt') {
    return (
      <div className="log-attempt" style={style} role="separator" aria-label={`Attempt ${row.attempt}`}>
        ── Attempt {row.attempt} ──
      </div>
    )
  }
  return (
    <div className="log-row" style={style} data-stream={row.stream}>
      {showTs && row.ts !== null && <span className="log-ts">{formatTs(row.ts)}</span>}
      {/* lineHtml escapes the text (ansi_up): only its colour spans and our <mark>s are markup. */}
      <span dangerouslySetInnerHTML={{ __html: lineHtml(row.raw, ranges, current) }} />
    </div>
  )
})
