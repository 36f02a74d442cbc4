import { describe, expect, it } from 'vitest'
import { canCreateSomeJob, grants } from './permissions'

describe('grants', () => {
  it('allows an exactly held permission and nothing else', () => {
    expect(grants(['jobs:read'], 'jobs:read')).toBe(true)
    expect(grants(['jobs:read'], 'jobs:cancel')).toBe(false)
    expect(grants([], 'jobs:read')).toBe(false)
  })

  it('lets jobs:create cover a per-action permission, except shell', () => {
    expect(grants(['jobs:create'], 'jobs:create:demo.export_csv')).toBe(true)
    expect(grants(['jobs:create'], 'jobs:create:shell')).toBe(false)
    expect(grants(['jobs:create:shell'], 'jobs:create:shell')).toBe(true)
    expect(grants(['jobs:create:demo.a'], 'jobs:create:demo.b')).toBe(false)
  })

  it('knows whether any job may be submitted', () => {
    expect(canCreateSomeJob(['jobs:read'])).toBe(false)
    expect(canCreateSomeJob(['jobs:create:demo.a'])).toBe(true)
    expect(canCreateSomeJob(new Set(['jobs:create']))).toBe(true)
  })
})
