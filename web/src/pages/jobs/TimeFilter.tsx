import '@mantine/dates/styles.css'
import { DateTimePicker } from '@mantine/dates'
import dayjs from 'dayjs'

const PICKER_FORMAT = 'YYYY-MM-DD HH:mm:ss'

interface Props {
  label: string
  /** An ISO instant, or null for "any time". */
  value: string | null
  onChange: (iso: string | null) => void
}

/** A bound of the created-time range, picked in local time, kept as an ISO instant. */
export default function TimeFilter({ label, value, onChange }: Props) {
  return (
    <DateTimePicker
      label={label}
      placeholder="Any time"
      value={value ? dayjs(value).format(PICKER_FORMAT) : null}
      onChange={(picked) => onChange(picked ? dayjs(picked).toISOString() : null)}
      clearable
      withSeconds={false}
      w={180}
    />
  )
}
