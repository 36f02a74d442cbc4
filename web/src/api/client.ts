/**
 * The typed API client, generated from the committed openapi.json (`npm run gen`).
 *
 * Every call carries the in-memory bearer token and the current team. A 401 triggers one
 * cookie refresh (shared by concurrent callers, serialized across tabs) and one retry; if
 * the refresh fails the session is signed out and the router sends the user to sign-in.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch'
import { ApiError } from './errors'
import type { components, paths } from './schema.gen'
import { session as defaultSession, type Session } from './session'

type TokenResponse = components['schemas']['TokenResponse']
// The cookie flow (`"cookie": true`, refresh/logout with `{}`) extends these bodies.
type LoginBody = components['schemas']['LoginRequest'] & { cookie?: boolean }
type RefreshBody = components['schemas']['RefreshRequest']

export const CSRF_HEADER = 'X-Conveyor-CSRF'
export const TEAM_HEADER = 'X-Conveyor-Team'

export interface ApiOptions {
  baseUrl?: string
  fetch?: (request: Request) => Promise<Response>
  session?: Session
}

export interface Api {
  /** The typed client for every endpoint (with auth, team and refresh-on-401). */
  client: Client<paths>
  /** Sign in with the refresh token set as an HttpOnly cookie. Throws ApiError. */
  login(email: string, password: string): Promise<void>
  /** Trade the refresh cookie for an access token; null when there is no usable session. */
  refreshTokens(): Promise<TokenResponse | null>
  /** End this login on the server (best effort) and forget the token. */
  logout(): Promise<void>
}

export function createApi(options: ApiOptions = {}): Api {
  // An absolute base: `new Request()` outside a document does not resolve relative URLs.
  const baseUrl = options.baseUrl ?? globalThis.location?.origin ?? ''
  const doFetch = options.fetch ?? ((request: Request) => globalThis.fetch(request))
  const session = options.session ?? defaultSession

  // Calls to /auth/* must not themselves trigger a refresh: a bare client for them.
  const bare = createClient<paths>({ baseUrl, fetch: doFetch, credentials: 'same-origin' })
  const client = createClient<paths>({ baseUrl, fetch: doFetch, credentials: 'same-origin' })

  const refreshTokens = async (): Promise<TokenResponse | null> => {
    const { data, response } = await bare.POST('/api/v1/auth/refresh', {
      body: {} as RefreshBody,
      headers: { [CSRF_HEADER]: '1' },
    })
    if (data) return data
    if (response.status === 401 || response.status === 403) return null
    throw ApiError.from(response.status, undefined)
  }

  const retries = new Map<string, Request>()
  const auth: Middleware = {
    onRequest({ request, id }) {
      const withAuth = decorate(request, session)
      retries.set(id, withAuth.clone())
      return withAuth
    },
    async onResponse({ request, response, id }) {
      const retry = retries.get(id)
      retries.delete(id)
      if (response.status !== 401 || !retry) return undefined
      const staleToken = bearerOf(request)
      const ok = await session.refresh(refreshTokens, staleToken)
      if (!ok) return undefined
      return doFetch(decorate(retry, session))
    },
    onError({ id }) {
      retries.delete(id)
    },
  }
  client.use(auth)

  return {
    client,
    refreshTokens,
    async login(email, password) {
      const body: LoginBody = { email, password, cookie: true }
      const { data, error, response } = await bare.POST('/api/v1/auth/login', { body })
      if (!data) throw ApiError.from(response.status, error)
      session.signIn(data)
    },
    async logout() {
      const token = session.accessToken
      try {
        if (token) {
          await bare.POST('/api/v1/auth/logout', {
            body: {} as RefreshBody,
            headers: { Authorization: `Bearer ${token}`, [CSRF_HEADER]: '1' },
          })
        }
      } finally {
        session.signOut()
      }
    },
  }
}

function decorate(request: Request, session: Session): Request {
  const headers = new Headers(request.headers)
  const token = session.accessToken
  if (token) headers.set('Authorization', `Bearer ${token}`)
  else headers.delete('Authorization')
  const team = session.teamId
  if (team) headers.set(TEAM_HEADER, team)
  return new Request(request, { headers })
}

function bearerOf(request: Request): string | null {
  const value = request.headers.get('Authorization')
  return value?.startsWith('Bearer ') ? value.slice(7) : null
}

/** The data of a call, or throw its ApiError: for TanStack Query `queryFn`s. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call
  if (!response.ok) throw ApiError.from(response.status, error)
  return data as T
}

/** The app's API. */
export const api = createApi()
/** Shorthand for the typed client. */
export const client = api.client
