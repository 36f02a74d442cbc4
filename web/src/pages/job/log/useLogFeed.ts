import { useEffect, useMemo, useSyncExternalStore } from 'react'
import { LogFeed, type FeedStatus } from './feed'

/** The job's log feed (reads the stored log; follows the stream while `live`). */
export function useLogFeed(jobId: string, live: boolean): { feed: LogFeed; status: FeedStatus; version: number } {
  const feed = useMemo(() => new LogFeed(jobId), [jobId])
  useEffect(() => {
    feed.start()
    return () => feed.stop()
  }, [feed])
  useEffect(() => {
    if (live) feed.follow()
  }, [feed, live])
  const status = useSyncExternalStore(feed.subscribe, feed.getStatus)
  const version = useSyncExternalStore(feed.buffer.subscribe, feed.buffer.getVersion)
  return { feed, status, version }
}
