import { localStorageColorSchemeManager, MantineProvider } from '@mantine/core'
import { Notifications } from '@mantine/notifications'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { lazy, Suspense } from 'react'
import { BrowserRouter, Navigate, Route, Routes } from 'react-router'
import { ApiError } from './api/errors'
import { PageLoader } from './components/PageLoader'
import { AppLayout } from './layout/AppLayout'
import { RequireAuth } from './session/RequireAuth'
import { cssVariablesResolver, theme } from './theme'

const SignInPage = lazy(() => import('./session/SignInPage'))
const JobsPage = lazy(() => import('./pages/JobsPage'))
const JobPage = lazy(() => import('./pages/JobPage'))
const NewJobPage = lazy(() => import('./pages/NewJobPage'))
const AgentsPage = lazy(() => import('./pages/AgentsPage'))
const QueuesPage = lazy(() => import('./pages/QueuesPage'))
const SchedulesPage = lazy(() => import('./pages/SchedulesPage'))
const SchedulePage = lazy(() => import('./pages/SchedulePage'))
const ScheduleEditPage = lazy(() => import('./pages/ScheduleEditPage'))
const NotFoundPage = lazy(() => import('./pages/NotFoundPage'))

const colorSchemeManager = localStorageColorSchemeManager({ key: 'conveyor-color-scheme' })

/** Client errors (4xx) are answers, not glitches: retry only network and server failures. */
export function shouldRetry(failures: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status < 500) return false
  return failures < 2
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: shouldRetry, refetchOnWindowFocus: false } } })
}

const queryClient = makeQueryClient()

export function AppRoutes() {
  return (
    <Suspense fallback={<PageLoader />}>
      <Routes>
        <Route path="/signin" element={<SignInPage />} />
        <Route element={<RequireAuth />}>
          <Route element={<AppLayout />}>
            <Route index element={<Navigate to="/jobs" replace />} />
            <Route path="/jobs" element={<JobsPage />} />
            <Route path="/jobs/new" element={<NewJobPage />} />
            <Route path="/jobs/:jobId" element={<JobPage />} />
            <Route path="/agents" element={<AgentsPage />} />
            <Route path="/queues" element={<QueuesPage />} />
            <Route path="/schedules" element={<SchedulesPage />} />
            <Route path="/schedules/new" element={<ScheduleEditPage />} />
            <Route path="/schedules/:scheduleId" element={<SchedulePage />} />
            <Route path="/schedules/:scheduleId/edit" element={<ScheduleEditPage />} />
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Route>
      </Routes>
    </Suspense>
  )
}

export default function App() {
  return (
    <MantineProvider
      theme={theme}
      cssVariablesResolver={cssVariablesResolver}
      defaultColorScheme="auto"
      colorSchemeManager={colorSchemeManager}
    >
      <Notifications />
      <QueryClientProvider client={queryClient}>
        <BrowserRouter>
          <AppRoutes />
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  )
}
