import { Button, Code, Paper, Stack, Text, Title } from '@mantine/core'
import { Link } from 'react-router'

export const FIRST_JOB_COMMAND = 'conveyor submit demo.echo --param greeting=hello'

/** No job in this team yet: how to submit the first one. */
export function NoJobsYet({ canCreate }: { canCreate: boolean }) {
  return (
    <Paper withBorder p="xl" radius="md">
      <Stack align="flex-start" gap="sm">
        <Title order={2} size="h3">
          No jobs yet
        </Title>
        <Text>Jobs appear here as soon as anyone in the team submits one, and update live.</Text>
        {canCreate && (
          <Button component={Link} to="/jobs/new">
            Submit your first job
          </Button>
        )}
        <Text size="sm">Or from a terminal:</Text>
        <Code block>{FIRST_JOB_COMMAND}</Code>
      </Stack>
    </Paper>
  )
}

/** Filters that match nothing. */
export function NoMatchingJobs({ onClear }: { onClear: () => void }) {
  return (
    <Paper withBorder p="xl" radius="md">
      <Stack align="flex-start" gap="sm">
        <Text>No job matches these filters.</Text>
        <Button variant="default" onClick={onClear}>
          Clear filters
        </Button>
      </Stack>
    </Paper>
  )
}
