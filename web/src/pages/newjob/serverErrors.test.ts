import { describe, expect, it } from 'vitest'
import { ApiError } from '../../api/errors'
import { errorPath, fieldMessage, placeError } from './serverErrors'

const invalidParams = (path: (string | number)[], message: string) =>
  new ApiError(422, 'invalid_params', message, { action: 'demo.export_csv', path, validator: 'minimum' })

describe('placing a refused submission at its field', () => {
  it('puts a params schema error at the param, without repeating where it is', () => {
    const placed = placeError(invalidParams(['rows'], 'params.rows: -5 is less than the minimum of 0'))
    expect(placed).toEqual({ params: { rows: { __errors: ['-5 is less than the minimum of 0'] } } })
  })

  it('nests deeper paths and array indexes', () => {
    const placed = placeError(invalidParams(['filters', 2, 'op'], "params.filters[2].op: 'x' is not one of ['eq']"))
    expect(placed.params).toEqual({ filters: { 2: { op: { __errors: ["'x' is not one of ['eq']"] } } } })
  })

  it('puts an error about the params as a whole on the form', () => {
    const placed = placeError(invalidParams([], "params: 'rows' is a required property"))
    expect(placed.params).toEqual({ __errors: ["'rows' is a required property"] })
  })

  it('puts a request validation error at the option it names', () => {
    const error = new ApiError(422, 'invalid_input', 'priority: Input should be less than or equal to 100', {
      errors: [{ loc: ['body', 'priority'], msg: 'Input should be less than or equal to 100', type: 'less_than_equal' }],
    })
    expect(errorPath(error)).toEqual(['priority'])
    expect(placeError(error)).toEqual({ option: { field: 'priority', message: 'Input should be less than or equal to 100' } })
  })

  it('reads details.field too', () => {
    const error = new ApiError(422, 'invalid_params', 'params cannot be stored: too large', { field: 'params' })
    expect(placeError(error)).toEqual({ params: { __errors: ['params cannot be stored: too large'] } })
  })

  it('leaves everything else to the alert above the form', () => {
    const forbidden = new ApiError(403, 'permission_denied', 'needs jobs:create:demo.export_csv')
    expect(placeError(forbidden)).toEqual({ general: forbidden })
    const nowhere = new ApiError(422, 'invalid_input', 'action: unknown', { errors: [{ loc: ['body', 'action'] }] })
    expect(placeError(nowhere)).toEqual({ general: nowhere })
    const network = new TypeError('Failed to fetch')
    expect(placeError(network)).toEqual({ general: network })
  })

  it('keeps a message that does not start with its place', () => {
    expect(fieldMessage('must be positive', ['params', 'rows'])).toBe('must be positive')
    expect(fieldMessage('params.a[0]: bad', ['params', 'a', 0])).toBe('bad')
  })
})
