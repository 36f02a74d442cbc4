/** Render the whole app as a fresh page load, for tests that drive it through a fake fetch. */
import { MantineProvider } from '@mantine/core'
import { QueryClientProvider } from '@tanstack/react-query'
import { render } from '@testing-library/react'
import { MemoryRouter, useLocation } from 'react-router'
import { vi } from 'vitest'

/** The router's location as text (labelled "location"), to assert where the app went. */
export function Where() {
  const location = useLocation()
  return <output aria-label="location">{`${location.pathname}${location.search}`}</output>
}

/** A fresh page load at `path`: new modules, so a new in-memory session and bootstrap. */
export async function renderApp(path: string) {
  vi.resetModules()
  const { AppRoutes, makeQueryClient } = await import('../App')
  return render(
    <MantineProvider env="test">
      <QueryClientProvider client={makeQueryClient()}>
        <MemoryRouter initialEntries={[path]}>
          <AppRoutes />
          <Where />
        </MemoryRouter>
      </QueryClientProvider>
    </MantineProvider>,
  )
}

/** How long to wait for a lazy page: its first import is slow on a busy machine. */
export const PAGE_LOAD = { timeout: 15_000 }
