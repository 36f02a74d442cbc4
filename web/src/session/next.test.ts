import { describe, expect, it } from 'vitest'
import { safeNext, signInUrl } from './next'

describe('the sign-in redirect', () => {
  it('returns to the page and its query after sign-in', () => {
    const url = signInUrl('/jobs', '?state=failed&queue=exports')
    expect(url).toBe('/signin?next=%2Fjobs%3Fstate%3Dfailed%26queue%3Dexports')
    const next = new URLSearchParams(url.split('?')[1]).get('next')
    expect(safeNext(next)).toBe('/jobs?state=failed&queue=exports')
  })

  it('adds no next for the root or the sign-in page itself', () => {
    expect(signInUrl('/')).toBe('/signin')
    expect(signInUrl('/signin', '?next=%2Fjobs')).toBe('/signin')
  })

  it('never sends the user to another origin or back to sign-in', () => {
    for (const bad of [null, '', 'https://evil.example', '//evil.example/x', '/\\evil.example', 'jobs', '/signin', '/signin?next=/x']) {
      expect(safeNext(bad)).toBe('/jobs')
    }
    expect(safeNext('/agents')).toBe('/agents')
  })
})
