import { describe, expect, it } from 'vitest'
import { filtersFromParams, filtersToApi, filtersToParams, isFiltered, NO_FILTERS } from './filters'

describe('job filters <-> URL', () => {
  it('reads every filter, repeated or comma-separated states in the canonical order', () => {
    const params = new URLSearchParams(
      'state=dead,running&state=queued&queue=exports&action=demo.fail&agent_id=a1&schedule_id=s1&q=%20abc%20&created_after=2026-12-01T10:00:00Z',
    )
    expect(filtersFromParams(params)).toEqual({
      state: ['queued', 'running', 'dead'],
      queue: 'exports',
      action: 'demo.fail',
      agent_id: 'a1',
      schedule_id: 's1',
      created_after: '2026-12-01T10:00:00.000Z',
      created_before: null,
      q: 'abc',
    })
  })

  it('ignores unknown states, unreadable times and empty values', () => {
    const params = new URLSearchParams('state=bogus,dead&created_before=yesterday&queue=&q=%20')
    expect(filtersFromParams(params)).toEqual({ ...NO_FILTERS, state: ['dead'] })
  })

  it('round-trips through the URL and keeps keys it does not own', () => {
    const filters = { ...NO_FILTERS, state: ['dead' as const, 'cancelled' as const], action: 'demo.fail', created_before: '2026-12-02T00:00:00.000Z' }
    const params = filtersToParams(filters, new URLSearchParams('tab=x&queue=old'))
    expect(params.get('tab')).toBe('x')
    expect(params.has('queue')).toBe(false)
    expect(params.get('state')).toBe('dead,cancelled')
    expect(filtersFromParams(params)).toEqual({ ...filters, state: ['dead', 'cancelled'] })
  })

  it('gives the API only the filters that narrow', () => {
    expect(filtersToApi(NO_FILTERS)).toEqual({})
    expect(isFiltered(NO_FILTERS)).toBe(false)
    const filters = { ...NO_FILTERS, state: ['running' as const], q: 'abc' }
    expect(filtersToApi(filters)).toEqual({ state: ['running'], q: 'abc' })
    expect(isFiltered(filters)).toBe(true)
    const runs = filtersFromParams(new URLSearchParams('schedule_id=01a25052-1157-7181-ab95-bbcae0b547ad'))
    expect(filtersToApi(runs)).toEqual({ schedule_id: '01a25052-1157-7181-ab95-bbcae0b547ad' })
  })
})
