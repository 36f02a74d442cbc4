/**
 * Where a refused submission's message belongs: the server's error envelope names the
 * place (`details.path` under params for a schema error, `details.field`, or FastAPI's
 * `details.errors[0].loc`), and the form shows the message next to that field.
 */
import type { ErrorSchema } from '@rjsf/utils'
import { ApiError } from '../../api/errors'

/** The job options the form has fields for (names as in the request body). */
export const OPTION_FIELDS = ['queue', 'priority', 'run_at', 'labels', 'idempotency_key'] as const
export type OptionField = (typeof OPTION_FIELDS)[number]

export interface PlacedError {
  /** Errors for the params form (rjsf `extraErrors`), when the error is about params. */
  params?: ErrorSchema
  /** An error for one of the option fields. */
  option?: { field: OptionField; message: string }
  /** Anything that belongs to no field: shown above the form. */
  general?: unknown
}

type Segment = string | number

/** The path of the place an API error names, from the request body's root. */
export function errorPath(error: ApiError): Segment[] | null {
  const { details } = error
  if (Array.isArray(details.path) && error.code === 'invalid_params') {
    return ['params', ...(details.path as Segment[])]
  }
  if (typeof details.field === 'string' && details.field) return details.field.split('.')
  const first = Array.isArray(details.errors) ? (details.errors[0] as { loc?: unknown } | undefined) : undefined
  if (first && Array.isArray(first.loc)) {
    const loc = (first.loc as Segment[]).filter((part, i) => !(i === 0 && part === 'body'))
    return loc.length ? loc : null
  }
  return null
}

/** The message without the place it starts with ("params.rows: ", "priority: "). */
export function fieldMessage(message: string, path: Segment[]): string {
  const dotted = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
  const prefix = `${dotted}: `
  return message.startsWith(prefix) ? message.slice(prefix.length) : message
}

/** Decide where a submission error is shown. */
export function placeError(error: unknown): PlacedError {
  if (!(error instanceof ApiError) || error.status !== 422) return { general: error }
  const path = errorPath(error)
  if (!path) return { general: error }
  const message = fieldMessage(error.message, path)
  if (path[0] === 'params') return { params: errorSchemaAt(path.slice(1), message) }
  const option = OPTION_FIELDS.find((field) => field === path[0])
  if (option) return { option: { field: option, message } }
  return { general: error }
}

/** `{rows: {__errors: [message]}}` for path `["rows"]`; `{__errors: [...]}` for the root. */
export function errorSchemaAt(path: Segment[], message: string): ErrorSchema {
  let schema: Record<string, unknown> = { __errors: [message] }
  for (const part of [...path].reverse()) schema = { [String(part)]: schema }
  return schema as ErrorSchema
}
