/** Which rows the bulk actions apply to: chosen ids, or every job matching the filter. */
import { useCallback, useState } from 'react'

export interface Selection {
  ids: ReadonlySet<string>
  /** Every job matching the filter, loaded or not. */
  allMatching: boolean
}

export const EMPTY_SELECTION: Selection = { ids: new Set(), allMatching: false }

export function toggled(selection: Selection, id: string): Selection {
  const ids = new Set(selection.ids)
  if (ids.has(id)) ids.delete(id)
  else ids.add(id)
  return { ids, allMatching: false }
}

/** Select (or clear) every loaded row. */
export function withLoaded(loaded: readonly string[], on: boolean): Selection {
  return on ? { ids: new Set(loaded), allMatching: false } : EMPTY_SELECTION
}

/** 'all', 'some' or 'none' of the loaded rows selected (the header checkbox). */
export function coverage(selection: Selection, loaded: readonly string[]): 'all' | 'some' | 'none' {
  if (selection.allMatching) return loaded.length ? 'all' : 'none'
  const count = loaded.filter((id) => selection.ids.has(id)).length
  if (count === 0) return 'none'
  return count === loaded.length ? 'all' : 'some'
}

/** The selection, cleared whenever `scope` (the filter) changes. */
export function useSelection(scope: string) {
  const [state, setState] = useState({ scope, selection: EMPTY_SELECTION })
  const selection = state.scope === scope ? state.selection : EMPTY_SELECTION
  const update = useCallback(
    (change: (current: Selection) => Selection) =>
      setState((prev) => ({ scope, selection: change(prev.scope === scope ? prev.selection : EMPTY_SELECTION) })),
    [scope],
  )
  return { selection, update }
}
