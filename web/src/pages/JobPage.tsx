import { Stack, Text, Title } from '@mantine/core'
import { useParams } from 'react-router'

/** One job: its details, attempts, live log, result and artifacts. */
export default function JobPage() {
  const { jobId } = useParams()
  return (
    <Stack>
      {/* TODO(job page): the heading is the job's action name. */}
      <Title order={1}>Job</Title>
      <Text c="dimmed">Job {jobId}: details, attempts, live log, result and artifacts come here.</Text>
    </Stack>
  )
}
