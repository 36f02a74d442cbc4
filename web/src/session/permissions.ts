/** Permission names and the client-side mirror of the server's `grants` check. */

export const JOBS_READ = 'jobs:read'
export const JOBS_CREATE = 'jobs:create'
export const JOBS_CANCEL = 'jobs:cancel'
export const JOBS_RETRY = 'jobs:retry'
export const AGENTS_READ = 'agents:read'
export const AGENTS_MANAGE = 'agents:manage'
export const KEYS_CREATE = 'keys:create'

const SHELL_ACTION = 'shell'
const PER_ACTION = /^jobs:create:([A-Za-z0-9_][A-Za-z0-9_.-]{0,199})$/

/** Whether `held` allows `permission`: exact, or `jobs:create` for a per-action one (never shell). */
export function grants(held: Iterable<string>, permission: string): boolean {
  const set = held instanceof Set ? held : new Set(held)
  if (set.has(permission)) return true
  const match = PER_ACTION.exec(permission)
  return match !== null && match[1] !== SHELL_ACTION && set.has(JOBS_CREATE)
}

/** Whether `held` allows submitting anything at all (plain or any per-action grant). */
export function canCreateSomeJob(held: Iterable<string>): boolean {
  for (const permission of held) {
    if (permission === JOBS_CREATE || permission.startsWith(`${JOBS_CREATE}:`)) return true
  }
  return false
}
export const QUEUES_READ = 'queues:read'
export const QUEUES_MANAGE = 'queues:manage'
export const ACTIONS_MANAGE = 'actions:manage'
export const SCHEDULES_READ = 'schedules:read'
export const SCHEDULES_MANAGE = 'schedules:manage'
