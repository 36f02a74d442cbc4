/**
 * Calls to routes the committed openapi.json does not have yet (schedules, flow control:
 * built by other branches). Same client, so the same auth, team and refresh-on-401; the
 * answer's type is the caller's word until the routes are generated into schema.gen.ts.
 */
import { client, unwrap } from './client'

type Init = { params?: { path?: Record<string, string>; query?: Record<string, unknown> }; body?: unknown }
type Call = (path: string, init?: Init) => Promise<{ data?: unknown; error?: unknown; response: Response }>
const loose = client as unknown as Record<'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', Call>

export function call<T>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, init?: Init): Promise<T> {
  return unwrap(loose[method](path, init)) as Promise<T>
}
