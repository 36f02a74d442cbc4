import { MantineProvider } from '@mantine/core'
import { render, screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../api/errors'
import { describeError, ErrorAlert } from './ErrorAlert'

describe('ErrorAlert', () => {
  it('explains a 403 with what was tried and the server message', () => {
    const error = new ApiError(403, 'permission_denied', 'needs jobs:cancel')
    render(
      <MantineProvider>
        <ErrorAlert error={error} action="cancel this job" />
      </MantineProvider>,
    )
    expect(screen.getByRole('alert')).toHaveTextContent("You don't have permission to cancel this job: needs jobs:cancel")
  })

  it('says something for every kind of failure, and nothing without one', () => {
    expect(describeError(new ApiError(500, 'internal_error', 'boom'))).toBe('boom')
    expect(describeError(new TypeError('Failed to fetch'))).toBe('Could not reach the server: Failed to fetch')
    expect(describeError('odd')).toBe('odd')
    render(
      <MantineProvider>
        <ErrorAlert error={null} />
      </MantineProvider>,
    )
    expect(screen.queryByRole('alert')).toBeNull()
  })
})
