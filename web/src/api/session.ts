/**
 * The browser session: the access token lives in memory only; the refresh token is an
 * HttpOnly cookie the server sets (scoped to /api/v1/auth, SameSite=Strict), so page
 * scripts never see it. A refresh needs the `X-Conveyor-CSRF` header, which a cross-site
 * form cannot send. Refreshes are serialized across tabs (the refresh token rotates, and
 * presenting a spent one ends every session of that login).
 */
import type { components } from './schema.gen'

export type SessionStatus = 'unknown' | 'signed-in' | 'signed-out'
type TokenResponse = components['schemas']['TokenResponse']
type Listener = () => void

export const REFRESH_LOCK = 'conveyor-refresh'
const TEAM_KEY = 'conveyor.team'
/** Retry delays of a refresh the server could not answer (unreachable, 5xx). */
const RETRY_FIRST_MS = 500
const RETRY_MAX_MS = 10_000

/** Run `fn` holding the cross-tab refresh lock; without Web Locks, just within this tab. */
export async function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined
  if (locks && typeof locks.request === 'function') {
    return locks.request(REFRESH_LOCK, fn) as Promise<T>
  }
  return fn()
}

class Session {
  private token: string | null = null
  private statusValue: SessionStatus = 'unknown'
  private team: string | null = readTeam()
  private unreachableValue = false
  private inflight: Promise<boolean> | null = null
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private retryDelayMs = RETRY_FIRST_MS
  private listeners = new Set<Listener>()
  /** The snapshot `useSyncExternalStore` compares. */
  private snap = { status: this.statusValue, team: this.team, unreachable: this.unreachableValue }

  get accessToken(): string | null {
    return this.token
  }

  get status(): SessionStatus {
    return this.statusValue
  }

  get teamId(): string | null {
    return this.team
  }

  /** The last refresh could not reach the server (network error, 5xx): it is being retried. */
  get unreachable(): boolean {
    return this.unreachableValue
  }

  snapshot = () => this.snap

  subscribe = (listener: Listener) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** A login or refresh succeeded. */
  signIn(tokens: Pick<TokenResponse, 'access_token'>): void {
    this.token = tokens.access_token
    this.set('signed-in')
  }

  /** Signed out, or the session could not be refreshed: forget the token. */
  signOut(): void {
    this.token = null
    this.stopRetrying()
    this.set('signed-out')
  }

  setTeam(team: string | null): void {
    this.team = team
    try {
      if (team) localStorage.setItem(TEAM_KEY, team)
      else localStorage.removeItem(TEAM_KEY)
    } catch {
      // storage may be unavailable (private mode); the team then lasts for this page only
    }
    this.emit()
  }

  /**
   * Get a fresh access token after `staleToken` was refused. Concurrent callers share
   * one refresh; a caller whose token was already replaced just uses the new one.
   * Resolves whether the session is usable now.
   *
   * Only a refusal (the refresher resolves null: a 401 or 403) signs the session out. A
   * refresh that fails otherwise (the server unreachable or restarting, a 5xx) keeps the
   * session as it is, marks it `unreachable` and tries again with backoff until the
   * server answers (a page that loads while the server restarts signs in once it is back).
   */
  refresh(refresher: () => Promise<TokenResponse | null>, staleToken: string | null = this.token): Promise<boolean> {
    if (this.token !== null && this.token !== staleToken) return Promise.resolve(true)
    if (!this.inflight) {
      this.inflight = withRefreshLock(refresher)
        .then(
          (tokens) => {
            this.stopRetrying()
            this.setUnreachable(false)
            if (tokens) this.signIn(tokens)
            else this.signOut()
            return tokens !== null
          },
          () => {
            this.setUnreachable(true)
            this.retryLater(refresher)
            return false
          },
        )
        .finally(() => {
          this.inflight = null
        })
    }
    return this.inflight
  }

  private retryLater(refresher: () => Promise<TokenResponse | null>): void {
    if (this.retryTimer !== undefined) return
    const delay = this.retryDelayMs
    this.retryDelayMs = Math.min(RETRY_MAX_MS, this.retryDelayMs * 2)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      void this.refresh(refresher, this.token)
    }, delay)
  }

  private stopRetrying(): void {
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    this.retryDelayMs = RETRY_FIRST_MS
  }

  private setUnreachable(value: boolean): void {
    if (value === this.unreachableValue) return
    this.unreachableValue = value
    this.emit()
  }

  private set(status: SessionStatus): void {
    if (status === this.statusValue) return
    this.statusValue = status
    this.emit()
  }

  private emit(): void {
    this.snap = { status: this.statusValue, team: this.team, unreachable: this.unreachableValue }
    for (const listener of this.listeners) listener()
  }
}

function readTeam(): string | null {
  try {
    return localStorage.getItem(TEAM_KEY)
  } catch {
    return null
  }
}

export { Session }
/** The one session of this page. */
export const session = new Session()
