/** Reading a job's log page by page (GET /logs after a cursor), for the viewer and downloads. */
import { client, unwrap } from '../../../api/client'
import type { LogChunk } from './buffer'

export const PAGE_SIZE = 1000

/**
 * Read every chunk after `after`, page by page, handing each page to `onPage`; resolves to
 * the cursor to continue from (null when the log is still empty).
 */
export async function readLogPages(
  jobId: string,
  after: string | null,
  onPage: (chunks: LogChunk[]) => void,
  signal?: AbortSignal,
): Promise<string | null> {
  let cursor = after
  for (;;) {
    const page = await unwrap(
      client.GET('/api/v1/jobs/{job_id}/logs', {
        params: { path: { job_id: jobId }, query: { limit: PAGE_SIZE, ...(cursor ? { after: cursor } : {}) } },
        signal,
      }),
    )
    if (page.items.length > 0) onPage(page.items)
    cursor = page.next_cursor ?? cursor
    if (page.items.length < PAGE_SIZE) return cursor
  }
}

/** The whole log as text: one line per log line, with a header where each attempt starts. */
export function logText(chunks: readonly LogChunk[]): string {
  const out: string[] = []
  let attempt: number | null = null
  for (const chunk of chunks) {
    if (chunk.attempt !== attempt) {
      attempt = chunk.attempt
      out.push(`===== attempt ${attempt} =====`)
    }
    for (const line of chunk.lines) out.push(typeof line.text === 'string' ? line.text : '')
  }
  return out.length ? `${out.join('\n')}\n` : ''
}

/** Fetch the whole log (GET, every page) and save it as `job-<id>.log`. */
export async function downloadLog(jobId: string): Promise<void> {
  const chunks: LogChunk[] = []
  await readLogPages(jobId, null, (page) => chunks.push(...page))
  const blob = new Blob([logText(chunks)], { type: 'text/plain;charset=utf-8' })
  saveFile(URL.createObjectURL(blob), `job-${jobId}.log`, true)
}

/** Have the browser download `href` (as `filename` when given). */
export function saveFile(href: string, filename?: string, revoke = false): void {
  const link = document.createElement('a')
  link.href = href
  if (filename) link.download = filename
  link.rel = 'noopener'
  document.body.appendChild(link)
  link.click()
  link.remove()
  if (revoke) setTimeout(() => URL.revokeObjectURL(href), 60_000)
}
