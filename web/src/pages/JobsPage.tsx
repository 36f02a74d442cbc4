import { Stack, Text, Title } from '@mantine/core'

/** The jobs table: filters in the URL, live rows, bulk cancel/retry. */
export default function JobsPage() {
  return (
    <Stack>
      <Title order={1}>Jobs</Title>
      {/* TODO(jobs page): table, filters in the URL, live updates, bulk cancel and retry. */}
      <Text c="dimmed">The jobs table comes here.</Text>
    </Stack>
  )
}
