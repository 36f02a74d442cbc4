/**
 * ANSI colours to HTML through ansi_up, which escapes the text (a log line is data, never
 * markup), with search matches wrapped in <mark>. Each line starts with fresh colour state,
 * so a row renders the same wherever the virtual list cuts the log.
 */
import { AnsiUp } from 'ansi_up'

// What ansi_up treats as an escape: CSI sequences (colours), OSC sequences (links), a lone ESC.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\))?/g

/** The text a person sees: `raw` without its escape sequences. */
export function visibleText(raw: string): string {
  return raw.includes('\x1b') ? raw.replace(ESCAPES, '') : raw
}

/** A match in a line's visible text: [start, end). */
export type Range = readonly [number, number]

/** The raw offset of each visible character, and of the end. */
function rawOffsets(raw: string): number[] {
  const offsets: number[] = []
  let pos = 0
  for (const escape of raw.matchAll(ESCAPES)) {
    for (let i = pos; i < escape.index; i += 1) offsets.push(i)
    pos = escape.index + escape[0].length
  }
  for (let i = pos; i < raw.length; i += 1) offsets.push(i)
  offsets.push(raw.length)
  return offsets
}

function converter(): AnsiUp {
  const ansi = new AnsiUp()
  ansi.use_classes = true // colours from our palette, readable in light and dark
  return ansi
}

/**
 * The line as HTML: escaped text, ANSI colours as classes, each range in a <mark> (the one
 * at index `current` also gets `log-match-current`).
 */
export function lineHtml(raw: string, ranges: readonly Range[] = [], current = -1): string {
  const ansi = converter()
  if (ranges.length === 0) return ansi.ansi_to_html(raw)
  const offsets = raw.includes('\x1b') ? rawOffsets(raw) : null
  const toRaw = (visible: number) => (offsets ? offsets[Math.min(visible, offsets.length - 1)] : Math.min(visible, raw.length))
  let html = ''
  let pos = 0
  ranges.forEach(([start, end], index) => {
    const from = Math.max(pos, toRaw(start))
    const to = Math.max(from, toRaw(end))
    html += ansi.ansi_to_html(raw.slice(pos, from))
    const cls = index === current ? 'log-match log-match-current' : 'log-match'
    html += `<mark class="${cls}">${ansi.ansi_to_html(raw.slice(from, to))}</mark>`
    pos = to
  })
  return html + ansi.ansi_to_html(raw.slice(pos))
}
