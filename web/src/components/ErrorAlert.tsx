import { Alert } from '@mantine/core'
import { IconAlertTriangle } from '@tabler/icons-react'
import { ApiError, errorMessage } from '../api/errors'

/** The sentence shown for an error; `action` completes "You don't have permission to …". */
export function describeError(error: unknown, action = 'do this'): string {
  if (error instanceof ApiError) {
    if (error.status === 403) return `You don't have permission to ${action}: ${error.message}`
    return error.message
  }
  if (error instanceof TypeError) return `Could not reach the server: ${error.message}`
  return errorMessage(error) || 'Something went wrong.'
}

interface ErrorAlertProps {
  error: unknown
  /** What the user tried, e.g. "cancel this job". */
  action?: string
  title?: string
}

/** An error made visible (never a blank): renders nothing when `error` is empty. */
export function ErrorAlert({ error, action, title }: ErrorAlertProps) {
  if (error === null || error === undefined) return null
  const forbidden = error instanceof ApiError && error.status === 403
  return (
    <Alert
      role="alert"
      color={forbidden ? 'orange' : 'red'}
      variant="light"
      title={title ?? (forbidden ? 'Not allowed' : 'Error')}
      icon={<IconAlertTriangle size={18} aria-hidden />}
    >
      {describeError(error, action)}
    </Alert>
  )
}
