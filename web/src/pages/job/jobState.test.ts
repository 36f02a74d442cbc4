import { describe, expect, it } from 'vitest'
import { matchLabel } from './log/LogToolbar'
import { formatSize } from './ArtifactList'
import { attemptError } from './AttemptTimeline'
import { canCancel, canRetry, progressView } from './jobState'

describe('job state rules', () => {
  it('offers cancel while the job can still be stopped, once', () => {
    expect(canCancel({ state: 'queued', cancel_requested: false })).toBe(true)
    expect(canCancel({ state: 'running', cancel_requested: false })).toBe(true)
    expect(canCancel({ state: 'running', cancel_requested: true })).toBe(false)
    expect(canCancel({ state: 'succeeded', cancel_requested: false })).toBe(false)
  })

  it('offers retry for dead and cancelled jobs only', () => {
    expect(canRetry({ state: 'dead' })).toBe(true)
    expect(canRetry({ state: 'cancelled' })).toBe(true)
    expect(canRetry({ state: 'succeeded' })).toBe(false)
    expect(canRetry({ state: 'running' })).toBe(false)
  })
})

describe('progressView', () => {
  it('reads the SDK form, percentages and fractions', () => {
    expect(progressView({ done: 500, total: 2000 })).toEqual({ percent: 25, label: '500 / 2,000 (25%)' })
    expect(progressView({ percent: 40, message: 'copying' })).toEqual({ percent: 40, label: '40% copying' })
    expect(progressView(0.5)).toEqual({ percent: 50, label: '50%' })
    expect(progressView({ done: 3, total: 0 })?.percent).toBeNull()
    expect(progressView(null)).toBeNull()
    expect(progressView({ stage: 'x' })).toEqual({ percent: null, label: '{"stage":"x"}' })
  })

  it('never draws past the ends', () => {
    expect(progressView({ done: 12, total: 10 })?.percent).toBe(100)
    expect(progressView(-3)?.percent).toBe(0)
  })
})

describe('labels', () => {
  it('counts matches', () => {
    expect(matchLabel('', 0, -1, false)).toBe('')
    expect(matchLabel('x', 0, -1, false)).toBe('No matches')
    expect(matchLabel('x', 3000, 0, false)).toBe('1 of 3,000')
    expect(matchLabel('x', 100_000, 4, true)).toBe('5 of 100,000+')
  })

  it('sizes files', () => {
    expect(formatSize(512)).toBe('512 B')
    expect(formatSize(1536)).toBe('1.5 KB')
    expect(formatSize(156 * 1024 * 1024)).toBe('156 MB')
  })

  it('reads an attempt error', () => {
    expect(attemptError({ type: 'ValueError', message: 'bad', traceback: 'Traceback…' })).toEqual({
      type: 'ValueError',
      message: 'bad',
      traceback: 'Traceback…',
    })
    expect(attemptError(null)).toBeNull()
    expect(attemptError('lost')).toEqual({ type: '', message: 'lost', traceback: '' })
  })
})
