import type { components } from './schema.gen'

/** The body of every non-2xx answer: `{"error": {code, message, details}}`. */
export type ErrorEnvelope = components['schemas']['ErrorEnvelope']

/** A failed API call, carrying the server's error envelope (or a synthetic one). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: Record<string, unknown>

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
  }

  /** The field a 422 names (`details.field`), if any. */
  get field(): string | undefined {
    const field = this.details.field
    return typeof field === 'string' ? field : undefined
  }

  /** Build from whatever openapi-fetch returned as `error` (an envelope, text, or nothing). */
  static from(status: number, body: unknown): ApiError {
    if (isEnvelope(body)) {
      const { code, message, details } = body.error
      return new ApiError(status, code, message, details ?? {})
    }
    const text = typeof body === 'string' && body.trim() ? body.trim().slice(0, 300) : ''
    return new ApiError(status, `http_${status}`, text || `The server answered ${status}.`)
  }
}

function isEnvelope(body: unknown): body is ErrorEnvelope {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false
  const error = (body as { error: unknown }).error
  return typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string'
}

/** A short human message for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
