import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApi, unwrap } from './client'
import { ApiError } from './errors'
import { Session } from './session'

const BASE = 'http://conveyor.test'

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

const tokens = (access: string) => json(200, { access_token: access, refresh_token: null, expires_in: 900, token_type: 'bearer' })
const refused = (status: number) => json(status, { error: { code: 'unauthenticated', message: 'no session', details: {} } })

/** /auth/refresh answers what `refresh` says (a thrown error is a network failure); other
 * paths accept only the token `valid`. */
function server(refresh: () => Response, valid: () => string) {
  let refreshes = 0
  const fetch = vi.fn(async (request: Request) => {
    if (new URL(request.url).pathname === '/api/v1/auth/refresh') {
      refreshes += 1
      return refresh()
    }
    const ok = request.headers.get('Authorization') === `Bearer ${valid()}`
    return ok ? json(200, { ok: true }) : refused(401)
  })
  return { fetch, refreshes: () => refreshes }
}

describe('a refresh the server cannot answer', () => {
  let session: Session
  beforeEach(() => {
    vi.useFakeTimers()
    session = new Session()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('keeps a signed-in session through a network error, then refreshes once the server is back', async () => {
    let up = false
    const fake = server(() => {
      if (!up) throw new TypeError('Failed to fetch')
      return tokens('a2')
    }, () => 'a2')
    const api = createApi({ baseUrl: BASE, fetch: fake.fetch, session })
    session.signIn({ access_token: 'a1' })

    await expect(unwrap(api.client.GET('/api/v1/me'))).rejects.toMatchObject({ status: 401 })
    expect(session.status).toBe('signed-in')
    expect(session.accessToken).toBe('a1')
    expect(session.unreachable).toBe(true)
    expect(session.snapshot().unreachable).toBe(true)

    up = true
    await vi.advanceTimersByTimeAsync(500) // the first retry
    expect(session.accessToken).toBe('a2')
    expect(session.unreachable).toBe(false)
    await expect(unwrap(api.client.GET('/api/v1/me'))).resolves.toEqual({ ok: true })
  })

  it('keeps the session through a 5xx and retries with growing delays', async () => {
    let answer = () => json(503, { error: { code: 'unavailable', message: 'store unreachable', details: {} } })
    const fake = server(() => answer(), () => 'a2')
    const api = createApi({ baseUrl: BASE, fetch: fake.fetch, session })
    session.signIn({ access_token: 'a1' })
    await expect(unwrap(api.client.GET('/api/v1/me'))).rejects.toBeInstanceOf(ApiError)
    expect(session.status).toBe('signed-in')
    expect(fake.refreshes()).toBe(1)
    await vi.advanceTimersByTimeAsync(500)
    expect(fake.refreshes()).toBe(2)
    await vi.advanceTimersByTimeAsync(999) // the next waits 1 s
    expect(fake.refreshes()).toBe(2)
    answer = () => tokens('a2')
    await vi.advanceTimersByTimeAsync(1)
    expect(fake.refreshes()).toBe(3)
    expect(session.status).toBe('signed-in')
    expect(session.accessToken).toBe('a2')
    await vi.advanceTimersByTimeAsync(60_000) // and stops retrying
    expect(fake.refreshes()).toBe(3)
  })

  it('on first load waits for the server instead of showing the sign-in form', async () => {
    let up = false
    const fake = server(() => {
      if (!up) throw new TypeError('Failed to fetch')
      return tokens('a1')
    }, () => 'a1')
    const api = createApi({ baseUrl: BASE, fetch: fake.fetch, session })
    await expect(session.refresh(api.refreshTokens, null)).resolves.toBe(false)
    expect(session.status).toBe('unknown')
    expect(session.unreachable).toBe(true)
    up = true
    await vi.advanceTimersByTimeAsync(500)
    expect(session.status).toBe('signed-in')
    expect(session.unreachable).toBe(false)
  })

  it.each([401, 403])('signs out on a %i from refresh, and stops retrying', async (status) => {
    let answer: () => Response = () => {
      throw new TypeError('Failed to fetch')
    }
    const fake = server(() => answer(), () => 'never')
    const api = createApi({ baseUrl: BASE, fetch: fake.fetch, session })
    session.signIn({ access_token: 'a1' })
    await expect(unwrap(api.client.GET('/api/v1/me'))).rejects.toMatchObject({ status: 401 })
    expect(session.status).toBe('signed-in')
    answer = () => refused(status)
    await vi.advanceTimersByTimeAsync(500)
    expect(session.status).toBe('signed-out')
    expect(session.accessToken).toBeNull()
    expect(session.unreachable).toBe(false)
    const calls = fake.refreshes()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(fake.refreshes()).toBe(calls)
  })
})
