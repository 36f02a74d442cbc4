import { Code } from '@mantine/core'

/** JSON, indented, as text (never markup). */
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  return (
    <Code block aria-label={label} style={{ maxHeight: 320, overflow: 'auto' }} tabIndex={0}>
      {JSON.stringify(value, null, 2) ?? 'null'}
    </Code>
  )
}
