/** Where sign-in sends the user back to: `/signin?next=<path+search>`, and only ever in-app. */

export const SIGN_IN_PATH = '/signin'
const DEFAULT_NEXT = '/jobs'

/** The sign-in URL that returns to `pathname + search` afterwards. */
export function signInUrl(pathname: string, search = ''): string {
  const next = `${pathname}${search}`
  if (!next || next === '/' || pathname === SIGN_IN_PATH) return SIGN_IN_PATH
  return `${SIGN_IN_PATH}?next=${encodeURIComponent(next)}`
}

/** The `next` parameter made safe: an in-app absolute path, never another origin. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return DEFAULT_NEXT
  if (next === SIGN_IN_PATH || next.startsWith(`${SIGN_IN_PATH}?`)) return DEFAULT_NEXT
  return next
}
