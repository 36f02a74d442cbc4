// @rjsf/mantine declares Mantine >= 8; this proves it renders and validates under Mantine 9
// (with the params form's validator: rjsf's ajv one needs eval, which the CSP forbids).
import { MantineProvider } from '@mantine/core'
import Form from '@rjsf/mantine'
import type { RJSFSchema } from '@rjsf/utils'
import { render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import { schemaValidator as validator } from '../pages/newjob/schemaValidator'

const schema: RJSFSchema = {
  type: 'object',
  required: ['rows'],
  properties: {
    rows: { type: 'integer', title: 'Rows', minimum: 1, default: 10, description: 'How many rows to export' },
    format: { type: 'string', title: 'Format', enum: ['csv', 'json'], default: 'csv' },
    gzip: { type: 'boolean', title: 'Gzip' },
    name: { type: 'string', title: 'File name', minLength: 3 },
  },
}

describe('@rjsf/mantine under Mantine 9', () => {
  it('renders fields with defaults and descriptions and blocks an invalid value', async () => {
    const onSubmit = vi.fn()
    const user = userEvent.setup()
    render(
      <MantineProvider env="test">
        <Form schema={schema} validator={validator} onSubmit={({ formData }) => onSubmit(formData)} />
      </MantineProvider>,
    )
    const rows = screen.getByLabelText(/Rows/)
    expect(rows).toHaveValue('10')
    expect(screen.getByText('How many rows to export')).toBeInTheDocument()
    expect(screen.getByLabelText(/Gzip/)).toBeInTheDocument()

    // Mantine's NumberInput clamps to minimum/maximum itself; schema errors show for the rest.
    await user.type(screen.getByLabelText(/File name/), 'ab')
    await user.click(screen.getByRole('button', { name: 'Submit' }))
    expect(onSubmit).not.toHaveBeenCalled()
    expect((await screen.findAllByText(/String is too short \(2 < 3\)/)).length).toBeGreaterThan(0)

    await user.type(screen.getByLabelText(/File name/), 'c')
    await user.clear(rows)
    await user.type(rows, '5')
    await user.click(screen.getByRole('button', { name: 'Submit' }))
    expect(onSubmit).toHaveBeenCalledWith({ rows: 5, format: 'csv', name: 'abc' })
  })
})
