import { Button, Stack } from '@mantine/core'
import { IconArrowDown } from '@tabler/icons-react'
import { useVirtualizer } from '@tanstack/react-virtual'
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react'
import { ErrorAlert } from '../../../components/ErrorAlert'
import type { FeedStatus } from './feed'
import { followAfterScroll } from './follow'
import './log.css'
import { LogRowView, ROW_HEIGHT } from './LogRowView'
import { LogToolbar } from './LogToolbar'
import { downloadLog } from './pages'
import { rangesInRow } from './search'
import type { LogFeedState } from './useLogFeed'
import { useLogSearch } from './useLogSearch'

const NO_RANGES: readonly (readonly [number, number])[] = []

const STATUS_TEXT: Record<FeedStatus, string> = {
  loading: 'Loading…',
  following: 'Live',
  reconnecting: 'Reconnecting…',
  complete: '',
  failed: '',
}

function statusText(status: FeedStatus, lines: number): string {
  const count = `${lines.toLocaleString('en-US')} ${lines === 1 ? 'line' : 'lines'}`
  const state = STATUS_TEXT[status]
  return state ? `${count} · ${state}` : count
}

/**
 * The job's live log: a virtual list (only the rows on screen are in the DOM) that follows
 * new lines while the view is at the end, with search, timestamps and download.
 */
export function LogViewer({ jobId, log }: { jobId: string; log: LogFeedState }) {
  const { feed, status, version } = log
  const rows = feed.buffer.rows
  const count = rows.length
  const search = useLogSearch(rows, version)
  const scrollRef = useRef<HTMLDivElement>(null)
  const lastTop = useRef(0)
  const [following, setFollowing] = useState(true)
  const [downloading, setDownloading] = useState(false)
  const [downloadError, setDownloadError] = useState<unknown>(null)

  // The virtualizer's functions change as it scrolls; this component is left unmemoized.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
  })

  const toEnd = useCallback(() => {
    const element = scrollRef.current
    if (element) element.scrollTop = element.scrollHeight
  }, [])

  // While following, every render with new rows shows the end.
  useLayoutEffect(() => {
    if (following) toEnd()
  }, [following, count, version, toEnd])

  // A new current match is scrolled into view (scrolling up stops following by itself).
  const matchRow = search.currentMatch?.row
  const matchStart = search.currentMatch?.start
  useEffect(() => {
    if (matchRow !== undefined) virtualizer.scrollToIndex(matchRow, { align: 'center' })
  }, [matchRow, matchStart, virtualizer])

  const onScroll = () => {
    const element = scrollRef.current
    if (!element) return
    const previousTop = lastTop.current // read now: the updater runs later
    const position = { scrollTop: element.scrollTop, scrollHeight: element.scrollHeight, clientHeight: element.clientHeight }
    lastTop.current = element.scrollTop
    setFollowing((now) => followAfterScroll(now, previousTop, position))
  }

  const jumpToEnd = () => {
    setFollowing(true)
    toEnd()
  }

  const download = async () => {
    setDownloading(true)
    setDownloadError(null)
    try {
      await downloadLog(jobId)
    } catch (error) {
      setDownloadError(error)
    } finally {
      setDownloading(false)
    }
  }

  const current = search.currentMatch
  return (
    <Stack gap="xs">
      <LogToolbar
        query={search.query}
        onQuery={search.setQuery}
        matchCount={search.matches.length}
        capped={search.capped}
        current={search.current}
        onStep={search.step}
        showTs={search.showTs}
        onShowTs={search.setShowTs}
        onDownload={() => void download()}
        downloading={downloading}
        status={statusText(status, feed.buffer.lineCount)}
      />
      <ErrorAlert error={feed.error ?? downloadError} action="read this job's log" />
      <div style={{ position: 'relative' }}>
        <div
          ref={scrollRef}
          className="log-view"
          role="log"
          aria-live="off"
          aria-label="Job log"
          tabIndex={0}
          onScroll={onScroll}
          data-following={following}
        >
          {count === 0 ? (
            <div className="log-empty">{status === 'loading' ? 'Loading the log…' : 'No log lines yet.'}</div>
          ) : (
            <div className="log-rows" style={{ height: virtualizer.getTotalSize() }}>
              {virtualizer.getVirtualItems().map((item) => {
                const row = rows[item.index]
                const found = search.query ? rangesInRow(row, search.query) : NO_RANGES
                const ranges = found.length ? found : NO_RANGES
                const currentIndex =
                  current && current.row === item.index ? ranges.findIndex(([start]) => start === current.start) : -1
                return (
                  <LogRowView
                    key={item.index}
                    row={row}
                    top={item.start}
                    ranges={ranges}
                    current={currentIndex}
                    showTs={search.showTs}
                  />
                )
              })}
            </div>
          )}
        </div>
        {!following && count > 0 && (
          <Button className="log-jump" size="xs" color="blue.8" leftSection={<IconArrowDown size={14} aria-hidden />} onClick={jumpToEnd}>
            Jump to end
          </Button>
        )}
      </div>
    </Stack>
  )
}
