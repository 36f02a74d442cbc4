import { describe, expect, it } from 'vitest'
import { LogBuffer, type LogChunk } from './buffer'
import { logText } from './pages'

const chunk = (attempt: number, seq: number, texts: string[]): LogChunk => ({
  attempt,
  seq,
  cursor: `${attempt}:${seq}`,
  created_at: '2026-01-01T00:00:00Z',
  lines: texts.map((text) => ({ ts: 1_700_000_000.5, stream: 'stdout', text })),
})

describe('LogBuffer', () => {
  it('puts a separator where each attempt starts and strips colours for search', () => {
    const buffer = new LogBuffer(() => {})
    buffer.append([chunk(1, 1, ['a', '\x1b[31mb\x1b[0m']), chunk(1, 2, ['c'])])
    buffer.append([chunk(2, 1, ['d'])])
    expect(buffer.rows.map((row) => (row.kind === 'attempt' ? `#${row.attempt}` : row.text))).toEqual([
      '#1', 'a', 'b', 'c', '#2', 'd',
    ])
    expect(buffer.lineCount).toBe(4)
  })

  it('tells listeners once per frame, however many chunks came', () => {
    const frames: (() => void)[] = []
    const buffer = new LogBuffer((flush) => frames.push(flush))
    let heard = 0
    buffer.subscribe(() => (heard += 1))
    buffer.append([chunk(1, 1, ['a'])])
    buffer.append([chunk(1, 2, ['b'])])
    expect(frames).toHaveLength(1)
    frames[0]()
    expect(heard).toBe(1)
    expect(buffer.getVersion()).toBe(1)
    buffer.append([])
    expect(frames).toHaveLength(1) // nothing added, nothing to tell
  })
})

describe('logText', () => {
  it('writes the whole log as lines with attempt headers', () => {
    expect(logText([chunk(1, 1, ['a', 'b']), chunk(2, 1, ['c'])])).toBe(
      '===== attempt 1 =====\na\nb\n===== attempt 2 =====\nc\n',
    )
    expect(logText([])).toBe('')
  })
})
