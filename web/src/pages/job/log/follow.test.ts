import { describe, expect, it } from 'vitest'
import { atEnd, followAfterScroll } from './follow'

const at = (scrollTop: number) => ({ scrollTop, scrollHeight: 2000, clientHeight: 500 })

describe('following the log', () => {
  it('counts the last few pixels as the end', () => {
    expect(atEnd(at(1500))).toBe(true)
    expect(atEnd(at(1480))).toBe(true)
    expect(atEnd(at(1400))).toBe(false)
  })

  it('stops when the user scrolls up, and not when lines arrive below', () => {
    expect(followAfterScroll(true, 1500, at(1200))).toBe(false)
    // New lines make the log taller without moving the view: no scroll-up, still following.
    expect(followAfterScroll(true, 1500, { scrollTop: 1500, scrollHeight: 2600, clientHeight: 500 })).toBe(true)
  })

  it('stays stopped while the user reads, and resumes at the end', () => {
    expect(followAfterScroll(false, 1000, at(1100))).toBe(false)
    expect(followAfterScroll(false, 1100, at(1500))).toBe(true)
  })
})
