import dayjs from 'dayjs'
import relativeTime from 'dayjs/plugin/relativeTime'

dayjs.extend(relativeTime)

/** "3 minutes ago", with the full local time on hover (and for machines, `dateTime`). */
export function RelativeTime({ value }: { value: string }) {
  const time = dayjs(value)
  return (
    <time dateTime={value} title={time.format('YYYY-MM-DD HH:mm:ss.SSS Z')}>
      {time.fromNow()}
    </time>
  )
}
