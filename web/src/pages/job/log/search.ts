/** Case-insensitive search through a log's lines, for highlighting and next/previous match. */
import type { Range } from './ansi'
import type { LineRow, LogRow } from './buffer'

export interface Match {
  /** The row's index in the buffer. */
  row: number
  start: number
  end: number
}

export interface SearchResult {
  matches: Match[]
  /** True when the search stopped at the cap (there are more matches than listed). */
  capped: boolean
}

export const MAX_MATCHES = 100_000

function lowerOf(row: LineRow): string {
  if (row.lower === undefined) row.lower = row.text.toLowerCase()
  return row.lower
}

/** Where `needle` (already lower-cased) occurs in `haystack`, without overlaps. */
export function findInText(haystack: string, needle: string): Range[] {
  const ranges: Range[] = []
  if (!needle) return ranges
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + needle.length)) {
    ranges.push([at, at + needle.length])
  }
  return ranges
}

/** The ranges of `query` in one row (none in a separator). */
export function rangesInRow(row: LogRow, query: string): Range[] {
  if (row.kind !== 'line' || !query) return []
  return findInText(lowerOf(row), query.toLowerCase())
}

/** Every match of `query` in the rows, in order, up to `cap`. */
export function searchRows(rows: readonly LogRow[], query: string, cap = MAX_MATCHES): SearchResult {
  const matches: Match[] = []
  const needle = query.toLowerCase()
  if (!needle) return { matches, capped: false }
  for (let index = 0; index < rows.length; index += 1) {
    const row = rows[index]
    if (row.kind !== 'line') continue
    const lower = lowerOf(row)
    if (!lower.includes(needle)) continue
    for (const [start, end] of findInText(lower, needle)) {
      if (matches.length === cap) return { matches, capped: true }
      matches.push({ row: index, start, end })
    }
  }
  return { matches, capped: false }
}

/** The match after (`step` 1) or before (`step` -1) `current`, wrapping around. */
export function stepMatch(current: number, count: number, step: 1 | -1): number {
  if (count === 0) return -1
  if (current < 0) return step === 1 ? 0 : count - 1
  return (current + step + count) % count
}
