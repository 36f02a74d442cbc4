import { MantineProvider } from '@mantine/core'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render } from '@testing-library/react'
import type { ReactNode } from 'react'
import { afterEach, beforeEach, vi } from 'vitest'
import { session } from '../api/session'

/** Render with what every page needs: Mantine (test env) and a fresh query cache (no retries). */
export function renderWithProviders(ui: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  return render(
    <MantineProvider env="test">
      <QueryClientProvider client={client}>{ui}</QueryClientProvider>
    </MantineProvider>,
  )
}

/** Each test of the calling `describe` runs signed in, with `fetch` restored afterwards. */
export function signedInEachTest() {
  beforeEach(() => session.signIn({ access_token: 't' }))
  afterEach(() => {
    session.signOut()
    vi.unstubAllGlobals()
  })
}
