import { describe, expect, it } from 'vitest'
import type { RJSFSchema } from '@rjsf/utils'
import { schemaValidator } from './schemaValidator'

const schema: RJSFSchema = {
  type: 'object',
  required: ['rows'],
  additionalProperties: false,
  properties: {
    rows: { type: 'integer', minimum: 0, maximum: 100 },
    format: { enum: ['csv', 'json'] },
    nested: { type: 'object', properties: { depth: { type: 'integer', maximum: 3 } } },
  },
}

describe('the params form validator (no eval: the CSP forbids it)', () => {
  it('never builds code at run time', () => {
    const original = globalThis.Function
    const spy = new Proxy(original, {
      construct() {
        throw new EvalError('blocked by the Content-Security-Policy')
      },
      apply() {
        throw new EvalError('blocked by the Content-Security-Policy')
      },
    })
    globalThis.Function = spy
    try {
      const { errors } = schemaValidator.validateFormData({ rows: -5 }, schema)
      expect(errors).toEqual([expect.objectContaining({ property: '.rows', name: 'minimum', message: '-5 is less than 0' })])
    } finally {
      globalThis.Function = original
    }
  })

  it('puts each error at its field, a missing one at the missing field', () => {
    const { errorSchema, errors } = schemaValidator.validateFormData({ format: 'xml', nested: { depth: 9 } }, schema)
    expect(errors.map((e) => e.property).sort()).toEqual(['.format', '.nested.depth', '.rows'])
    expect(errorSchema).toMatchObject({
      rows: { __errors: ['is required'] },
      format: { __errors: [expect.stringContaining('does not match any of')] },
      nested: { depth: { __errors: ['9 is greater than 3'] } },
    })
  })

  it('accepts valid data and answers isValid against the root definitions', () => {
    expect(schemaValidator.validateFormData({ rows: 3 }, schema).errors).toEqual([])
    const root: RJSFSchema = { $defs: { Small: { type: 'integer', maximum: 3 } }, type: 'object' }
    expect(schemaValidator.isValid({ $ref: '#/$defs/Small' }, 2, root)).toBe(true)
    expect(schemaValidator.isValid({ $ref: '#/$defs/Small' }, 9, root)).toBe(false)
  })
})
