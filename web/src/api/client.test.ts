import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createApi, CSRF_HEADER, TEAM_HEADER, unwrap } from './client'
import { ApiError } from './errors'
import { Session } from './session'

const BASE = 'http://conveyor.test'

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

const unauthenticated = () => json(401, { error: { code: 'unauthenticated', message: 'token expired', details: {} } })
const tokens = (access: string) => json(200, { access_token: access, refresh_token: null, expires_in: 900, token_type: 'bearer' })

/** A fake server: /auth/refresh answers `refresh()`, other paths accept only `valid` tokens. */
function fakeServer(refresh: () => Response, valid: Set<string>) {
  const calls: Request[] = []
  const fetch = vi.fn(async (request: Request) => {
    calls.push(request.clone())
    const path = new URL(request.url).pathname
    if (path === '/api/v1/auth/refresh') return refresh()
    const bearer = request.headers.get('Authorization')?.replace('Bearer ', '') ?? ''
    if (!valid.has(bearer)) return unauthenticated()
    return json(200, { path, body: request.method === 'POST' ? await request.json() : null })
  })
  return { fetch, calls }
}

describe('the API client', () => {
  let session: Session
  beforeEach(() => {
    session = new Session()
    session.setTeam(null)
  })

  it('sends the bearer token and the current team', async () => {
    const server = fakeServer(() => unauthenticated(), new Set(['a1']))
    const api = createApi({ baseUrl: BASE, fetch: server.fetch, session })
    session.signIn({ access_token: 'a1' })
    session.setTeam('acme')
    await unwrap(api.client.GET('/api/v1/me'))
    expect(server.calls[0].headers.get('Authorization')).toBe('Bearer a1')
    expect(server.calls[0].headers.get(TEAM_HEADER)).toBe('acme')
  })

  it('refreshes once on a 401 through the cookie (CSRF header, empty body) and retries the call with its body', async () => {
    const server = fakeServer(() => tokens('a2'), new Set(['a2']))
    const api = createApi({ baseUrl: BASE, fetch: server.fetch, session })
    session.signIn({ access_token: 'a1' })
    const data = await unwrap(api.client.POST('/api/v1/events/url', { body: { job_id: null } }))
    expect(data).toMatchObject({ body: { job_id: null } })
    const refresh = server.calls.filter((r) => r.url.endsWith('/auth/refresh'))
    expect(refresh).toHaveLength(1)
    expect(refresh[0].headers.get(CSRF_HEADER)).toBe('1')
    expect(refresh[0].headers.get('Authorization')).toBeNull()
    expect(await refresh[0].json()).toEqual({})
    expect(server.calls.at(-1)?.headers.get('Authorization')).toBe('Bearer a2')
    expect(session.accessToken).toBe('a2')
  })

  it('shares one refresh between concurrent 401s (the refresh token rotates)', async () => {
    let refreshed = 0
    const server = fakeServer(() => {
      refreshed += 1
      return tokens(`r${refreshed}`)
    }, new Set(['r1']))
    const api = createApi({ baseUrl: BASE, fetch: server.fetch, session })
    session.signIn({ access_token: 'old' })
    await Promise.all([unwrap(api.client.GET('/api/v1/me')), unwrap(api.client.GET('/api/v1/me')), unwrap(api.client.GET('/api/v1/me'))])
    expect(refreshed).toBe(1)
  })

  it('holds the cross-tab lock while refreshing when Web Locks exist', async () => {
    const names: string[] = []
    const request = vi.fn(async (name: string, fn: () => Promise<unknown>) => {
      names.push(name)
      return fn()
    })
    vi.stubGlobal('navigator', { ...navigator, locks: { request } })
    try {
      const server = fakeServer(() => tokens('a2'), new Set(['a2']))
      const api = createApi({ baseUrl: BASE, fetch: server.fetch, session })
      session.signIn({ access_token: 'a1' })
      await unwrap(api.client.GET('/api/v1/me'))
      expect(names).toEqual(['conveyor-refresh'])
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('signs the session out when the refresh fails, and the call fails with the server message', async () => {
    const server = fakeServer(() => unauthenticated(), new Set())
    const api = createApi({ baseUrl: BASE, fetch: server.fetch, session })
    session.signIn({ access_token: 'a1' })
    const failure = unwrap(api.client.GET('/api/v1/me'))
    await expect(failure).rejects.toBeInstanceOf(ApiError)
    await expect(failure).rejects.toMatchObject({ status: 401, message: 'token expired' })
    expect(session.status).toBe('signed-out')
    expect(session.accessToken).toBeNull()
    expect(server.calls.filter((r) => r.url.endsWith('/auth/refresh'))).toHaveLength(1)
  })

  it('does not refresh again when the retried call is refused too', async () => {
    const server = fakeServer(() => tokens('a2'), new Set())
    const api = createApi({ baseUrl: BASE, fetch: server.fetch, session })
    session.signIn({ access_token: 'a1' })
    await expect(unwrap(api.client.GET('/api/v1/me'))).rejects.toMatchObject({ status: 401 })
    expect(server.calls.filter((r) => r.url.endsWith('/auth/refresh'))).toHaveLength(1)
  })

  it('logs in asking for the refresh cookie and surfaces a 429 message', async () => {
    const bodies: unknown[] = []
    let status = 429
    const fetch = vi.fn(async (request: Request) => {
      bodies.push(await request.clone().json())
      if (status === 429) return json(429, { error: { code: 'rate_limited', message: 'too many attempts; retry in 30 s', details: {} } })
      return tokens('a1')
    })
    const api = createApi({ baseUrl: BASE, fetch, session })
    await expect(api.login('ada@example.com', 'pw')).rejects.toThrow('too many attempts; retry in 30 s')
    expect(session.status).not.toBe('signed-in')
    status = 200
    await api.login('ada@example.com', 'pw')
    expect(bodies[1]).toEqual({ email: 'ada@example.com', password: 'pw', cookie: true })
    expect(session.accessToken).toBe('a1')
  })

  it('logs out with the bearer token and the CSRF header, then forgets the token', async () => {
    const seen: Request[] = []
    const fetch = vi.fn(async (request: Request) => {
      seen.push(request)
      return new Response(null, { status: 204 })
    })
    const api = createApi({ baseUrl: BASE, fetch, session })
    session.signIn({ access_token: 'a1' })
    await api.logout()
    expect(new URL(seen[0].url).pathname).toBe('/api/v1/auth/logout')
    expect(seen[0].headers.get('Authorization')).toBe('Bearer a1')
    expect(seen[0].headers.get(CSRF_HEADER)).toBe('1')
    expect(session.status).toBe('signed-out')
  })
})

describe('ApiError', () => {
  it('reads the error envelope, including the field a 422 names', () => {
    const error = ApiError.from(422, { error: { code: 'invalid_input', message: 'rows must be ≥ 1', details: { field: 'params.rows' } } })
    expect(error).toMatchObject({ status: 422, code: 'invalid_input', message: 'rows must be ≥ 1', field: 'params.rows' })
  })

  it('still says something for a body that is not an envelope', () => {
    expect(ApiError.from(502, '').message).toBe('The server answered 502.')
    expect(ApiError.from(502, 'Bad Gateway').message).toBe('Bad Gateway')
  })
})
