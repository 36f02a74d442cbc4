import { useEffect, useMemo, useSyncExternalStore } from 'react'
import { LogFeed, type FeedStatus } from './feed'

export interface LogFeedState {
  feed: LogFeed
  status: FeedStatus
  /** Changes when lines were added. */
  version: number
}

/**
 * The job's log feed: reads the stored log at once (no need to wait for the job itself),
 * and follows the stream while `live`.
 */
export function useLogFeed(jobId: string, live: boolean): LogFeedState {
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
