/** Stands in for the browser's EventSource (jsdom has none): a test opens, feeds and breaks it. */
export class FakeEventSource {
  static all: FakeEventSource[] = []
  readonly url: string
  closed = false
  onopen: (() => void) | null = null
  onerror: (() => void) | null = null
  private listeners = new Map<string, (event: MessageEvent<string>) => void>()

  constructor(url: string) {
    this.url = url
    FakeEventSource.all.push(this)
  }
  addEventListener(kind: string, listener: (event: MessageEvent<string>) => void) {
    this.listeners.set(kind, listener)
  }
  close() {
    this.closed = true
  }
  open() {
    this.onopen?.()
  }
  fail() {
    this.onerror?.()
  }
  /** Deliver an event named `kind` whose data is `data` as JSON. */
  send(kind: string, data: unknown, lastEventId = '') {
    this.listeners.get(kind)?.(new MessageEvent(kind, { data: JSON.stringify(data), lastEventId }))
  }
  /** A query parameter of the URL it was opened with. */
  param(name: string): string | null {
    return new URL(this.url, 'http://placeholder.invalid').searchParams.get(name)
  }
}
