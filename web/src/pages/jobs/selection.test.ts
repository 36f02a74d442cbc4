import { act, renderHook } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { coverage, EMPTY_SELECTION, toggled, useSelection, withLoaded } from './selection'

describe('row selection', () => {
  it('toggles rows and reports the header checkbox state', () => {
    const loaded = ['a', 'b']
    const one = toggled(EMPTY_SELECTION, 'a')
    expect(coverage(one, loaded)).toBe('some')
    expect(coverage(toggled(one, 'b'), loaded)).toBe('all')
    expect(coverage(toggled(one, 'a'), loaded)).toBe('none')
    expect(coverage(withLoaded(loaded, true), loaded)).toBe('all')
    expect(coverage({ ids: new Set(), allMatching: true }, loaded)).toBe('all')
  })

  it('clears itself when the filter changes', () => {
    const { result, rerender } = renderHook(({ scope }) => useSelection(scope), { initialProps: { scope: 'state=dead' } })
    act(() => result.current.update((s) => toggled(s, 'a')))
    expect([...result.current.selection.ids]).toEqual(['a'])
    rerender({ scope: 'state=queued' })
    expect(result.current.selection.ids.size).toBe(0)
  })
})
