import { useEffect } from 'react'
import { Navigate, Outlet, useLocation } from 'react-router'
import { api } from '../api/client'
import { session } from '../api/session'
import { PageLoader } from '../components/PageLoader'
import { ReconnectingBanner } from '../live/ReconnectingBanner'
import { useSession } from './hooks'
import { signInUrl } from './next'

let bootstrap: Promise<boolean> | null = null

/** On first load, trade the refresh cookie for an access token (once per page). */
export function bootstrapSession(): Promise<boolean> {
  bootstrap ??= session.refresh(api.refreshTokens, null)
  return bootstrap
}

/** Routes behind sign-in: wait for the bootstrap, else go to /signin?next=<here>. */
export function RequireAuth() {
  const { status } = useSession()
  const location = useLocation()
  useEffect(() => {
    if (session.status === 'unknown') void bootstrapSession()
  }, [])
  if (status === 'unknown') {
    return (
      <>
        <ReconnectingBanner />
        <PageLoader />
      </>
    )
  }
  if (status === 'signed-out') return <Navigate to={signInUrl(location.pathname, location.search)} replace />
  return <Outlet />
}
