import { describe, expect, it } from 'vitest'
import { StreamCursor } from './cursor'

describe('StreamCursor', () => {
  it('resumes after the highest id seen, ignoring junk and older ids', () => {
    const cursor = new StreamCursor()
    expect(cursor.urlFor('/api/v1/events?sig=abc')).toBe('/api/v1/events?sig=abc')
    cursor.seen('41')
    cursor.seen(42)
    cursor.seen('7')
    cursor.seen('')
    cursor.seen('not-a-number')
    expect(cursor.lastId).toBe(42)
    expect(cursor.urlFor('/api/v1/events?sig=abc')).toBe('/api/v1/events?sig=abc&after=42')
  })

  it('keeps absolute signed URLs absolute and adds kind filters', () => {
    const cursor = new StreamCursor()
    cursor.seen(5)
    expect(cursor.urlFor('https://conveyor.example/api/v1/events?sig=x&exp=9', ['job', 'agent'])).toBe(
      'https://conveyor.example/api/v1/events?sig=x&exp=9&after=5&kind=job&kind=agent',
    )
  })

  it('backs off exponentially up to a cap, and starts over once a connection opens', () => {
    const cursor = new StreamCursor({ initialMs: 100, maxMs: 1000, jitter: 0 })
    expect([cursor.failed(), cursor.failed(), cursor.failed(), cursor.failed(), cursor.failed()]).toEqual([100, 200, 400, 800, 1000])
    cursor.opened()
    expect(cursor.failed()).toBe(100)
  })

  it('spreads delays with jitter, never above the base delay', () => {
    const cursor = new StreamCursor({ initialMs: 1000, jitter: 0.5, random: () => 1 })
    expect(cursor.failed()).toBe(500)
  })
})
