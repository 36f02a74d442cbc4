import { describe, expect, it } from 'vitest'
import type { LogRow } from './buffer'
import { findInText, rangesInRow, searchRows, stepMatch } from './search'

const line = (text: string): LogRow => ({ kind: 'line', attempt: 1, ts: 0, stream: 'stdout', raw: text, text })

describe('log search', () => {
  it('finds every occurrence, without overlaps', () => {
    expect(findInText('aaaa', 'aa')).toEqual([[0, 2], [2, 4]])
    expect(findInText('abc', '')).toEqual([])
  })

  it('is case-insensitive, skips separators and lists matches in order', () => {
    const rows: LogRow[] = [{ kind: 'attempt', attempt: 1 }, line('Error one'), line('fine'), line('error, ERROR')]
    const { matches, capped } = searchRows(rows, 'error')
    expect(capped).toBe(false)
    expect(matches).toEqual([
      { row: 1, start: 0, end: 5 },
      { row: 3, start: 0, end: 5 },
      { row: 3, start: 7, end: 12 },
    ])
    expect(rangesInRow(rows[3], 'ERROR')).toEqual([[0, 5], [7, 12]])
    expect(rangesInRow(rows[0], 'error')).toEqual([])
  })

  it('stops at the cap and says so', () => {
    const rows = Array.from({ length: 10 }, () => line('x x'))
    const result = searchRows(rows, 'x', 5)
    expect(result.matches).toHaveLength(5)
    expect(result.capped).toBe(true)
  })

  it('searches 100,000 lines', () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => line(`line ${i} of the log`))
    expect(searchRows(rows, 'line 99999 ').matches).toEqual([{ row: 99_999, start: 0, end: 11 }])
    expect(searchRows(rows, 'of the').matches).toHaveLength(100_000)
  })

  it('steps to the next and previous match, wrapping around', () => {
    expect(stepMatch(0, 3, 1)).toBe(1)
    expect(stepMatch(2, 3, 1)).toBe(0)
    expect(stepMatch(0, 3, -1)).toBe(2)
    expect(stepMatch(-1, 3, -1)).toBe(2)
    expect(stepMatch(-1, 3, 1)).toBe(0)
    expect(stepMatch(0, 0, 1)).toBe(-1)
  })
})
