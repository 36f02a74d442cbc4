/** How the app's live streams are doing, for the global "Reconnecting…" banner. */
import { useSyncExternalStore } from 'react'

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed'

const states = new Map<number, StreamState>()
const listeners = new Set<() => void>()
let nextId = 1
let down = false

function recompute(): void {
  const now = [...states.values()].some((state) => state === 'reconnecting')
  if (now === down) return
  down = now
  for (const listener of listeners) listener()
}

/** Register a stream; returns its reporter (call with `closed` when done). */
export function registerStream(): (state: StreamState) => void {
  const id = nextId++
  states.set(id, 'connecting')
  return (state) => {
    if (state === 'closed') states.delete(id)
    else states.set(id, state)
    recompute()
  }
}

/** True while any live stream is trying to reconnect. */
export function useStreamsDown(): boolean {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    () => down,
  )
}
