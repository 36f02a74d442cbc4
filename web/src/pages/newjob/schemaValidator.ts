/**
 * The params form's JSON Schema validator, for @rjsf: @cfworker/json-schema instead of
 * rjsf's ajv validator. Ajv compiles each schema into a function with `new Function`, which
 * the dashboard's Content-Security-Policy (`script-src 'self'`, no 'unsafe-eval') forbids;
 * @cfworker/json-schema interprets the schema, and speaks Draft 2020-12 like the server.
 */
import { Validator, type OutputUnit, type Schema } from '@cfworker/json-schema'
import {
  toErrorSchema,
  type CustomValidator,
  type ErrorTransformer,
  type RJSFSchema,
  type RJSFValidationError,
  type UiSchema,
  type ValidationData,
  type ValidatorType,
} from '@rjsf/utils'

type Data = unknown

/** Keywords that only say "something inside failed": their inner errors are reported. */
const WRAPPERS = new Set(['properties', 'patternProperties', 'items', 'prefixItems', '$ref', 'allOf', 'false'])
const MISSING = /required property "([^"]+)"/

const compiled = new WeakMap<object, Validator>()

function validatorFor(schema: object): Validator {
  let found = compiled.get(schema)
  if (!found) {
    found = new Validator(schema as Schema, '2020-12', false)
    compiled.set(schema, found)
  }
  return found
}

/** `#/a/0/b` → `.a.0.b` (rjsf's property path). */
function propertyOf(instanceLocation: string): string {
  const path = instanceLocation.replace(/^#/, '')
  return path
    .split('/')
    .filter(Boolean)
    .map((part) => `.${decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~')}`)
    .join('')
}

/** The errors rjsf shows: innermost ones, a missing property at that property's field. */
export function toRjsfErrors(units: OutputUnit[]): RJSFValidationError[] {
  const errors: RJSFValidationError[] = []
  for (const unit of units) {
    if (WRAPPERS.has(unit.keyword)) continue
    let property = propertyOf(unit.instanceLocation)
    let message = unit.error.replace(/\.$/, '')
    const missing = unit.keyword === 'required' ? MISSING.exec(unit.error) : null
    if (missing) {
      property = `${property}.${missing[1]}`
      message = 'is required'
    }
    errors.push({ name: unit.keyword, property, message, params: {}, stack: `${property} ${message}`.trim(), schemaPath: unit.keywordLocation })
  }
  return errors
}

/** A schema whose `#/$defs/...` refs resolve against the root (rjsf validates subschemas too). */
function withRootDefinitions(schema: RJSFSchema, root: RJSFSchema): RJSFSchema {
  if (schema === root) return schema
  return { ...schema, $defs: { ...(root.$defs ?? {}), ...(schema.$defs ?? {}) }, definitions: { ...(root.definitions ?? {}), ...(schema.definitions ?? {}) } }
}

class CspSafeValidator implements ValidatorType<Data, RJSFSchema> {
  rawValidation<Result = OutputUnit>(schema: RJSFSchema, formData?: Data): { errors?: Result[]; validationError?: Error } {
    try {
      const result = validatorFor(schema).validate(formData)
      return { errors: result.valid ? undefined : (result.errors as Result[]) }
    } catch (error) {
      return { validationError: error instanceof Error ? error : new Error(String(error)) }
    }
  }

  validateFormData(
    formData: Data | undefined,
    schema: RJSFSchema,
    _customValidate?: CustomValidator<Data, RJSFSchema>, // no form of this app has one
    transformErrors?: ErrorTransformer<Data, RJSFSchema>,
    uiSchema?: UiSchema<Data, RJSFSchema>,
  ): ValidationData<Data> {
    const raw = this.rawValidation<OutputUnit>(schema, formData)
    let errors = toRjsfErrors(raw.errors ?? [])
    if (raw.validationError) errors.push({ property: '.', message: raw.validationError.message, stack: raw.validationError.message })
    if (transformErrors) errors = transformErrors(errors, uiSchema)
    return { errors, errorSchema: toErrorSchema<Data>(errors) }
  }

  isValid(schema: RJSFSchema, formData: Data | undefined, rootSchema: RJSFSchema): boolean {
    try {
      return validatorFor(withRootDefinitions(schema, rootSchema)).validate(formData).valid
    } catch {
      return false
    }
  }
}

/** One validator for every params form. */
export const schemaValidator: ValidatorType<Data, RJSFSchema> = new CspSafeValidator()
