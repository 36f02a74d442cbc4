import { Stack, Text, Title } from '@mantine/core'

/** Submit a job: pick an action, fill the form generated from its parameter schema. */
export default function NewJobPage() {
  return (
    <Stack>
      <Title order={1}>New job</Title>
      {/* TODO(new job page): action picker, @rjsf/mantine form from the action's schema, options. */}
      <Text c="dimmed">The form to submit a job comes here.</Text>
    </Stack>
  )
}
