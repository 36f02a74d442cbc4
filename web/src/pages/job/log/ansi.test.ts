import { describe, expect, it } from 'vitest'
import { lineHtml, visibleText } from './ansi'

const RED = '\x1b[31m'
const RESET = '\x1b[0m'

/** The text a browser would show for `html`, and whether it made any element but ours. */
function parse(html: string) {
  const host = document.createElement('div')
  host.innerHTML = html
  const tags = Array.from(host.querySelectorAll('*')).map((element) => element.tagName.toLowerCase())
  return { text: host.textContent, tags, host }
}

describe('ANSI to HTML', () => {
  it('colours with classes and drops the escape codes', () => {
    const html = lineHtml(`ok ${RED}error${RESET} done`)
    const { text, host } = parse(html)
    expect(text).toBe('ok error done')
    expect(host.querySelector('span.ansi-red-fg')?.textContent).toBe('error')
  })

  it('never lets a line make markup: tags, entities and quotes stay text', () => {
    const hostile = `<img src=x onerror="alert(1)"><script>alert(2)</script> &amp; ${RED}<b>bold?</b>`
    const { text, tags } = parse(lineHtml(hostile))
    expect(text).toBe(visibleText(hostile))
    expect(tags.filter((tag) => tag !== 'span')).toEqual([])
  })

  it('keeps hostile text inert inside search highlights too', () => {
    const hostile = '<img src=x onerror=alert(1)> needle <script>x</script>'
    const { text, tags } = parse(lineHtml(hostile, [[0, 4]], 0))
    expect(text).toBe(hostile)
    expect(tags).toEqual(['mark'])
  })

  it('does not link a hyperlink escape to a javascript: URL', () => {
    const link = '\x1b]8;;javascript:alert(1)\x07click\x1b]8;;\x07'
    expect(parse(lineHtml(link)).tags).not.toContain('a')
  })

  it('marks matches by visible offsets, colour codes in between', () => {
    const raw = `a ${RED}needle${RESET} b needle`
    const html = lineHtml(raw, [[2, 8], [11, 17]], 1)
    const { host } = parse(html)
    const marks = Array.from(host.querySelectorAll('mark'))
    expect(marks.map((mark) => mark.textContent)).toEqual(['needle', 'needle'])
    expect(marks[0].className).toBe('log-match')
    expect(marks[1].className).toBe('log-match log-match-current')
    expect(marks[0].querySelector('.ansi-red-fg')).not.toBeNull() // colour kept inside the mark
    expect(host.textContent).toBe('a needle b needle')
  })

  it('starts every line with fresh colour state', () => {
    lineHtml(`${RED}left red`)
    expect(parse(lineHtml('plain')).tags).toEqual([])
  })

  it('strips escapes for search', () => {
    expect(visibleText(`${RED}x${RESET}\x1b]8;;https://e.org\x07y\x1b]8;;\x07`)).toBe('xy')
    expect(visibleText('no escapes')).toBe('no escapes')
  })
})
