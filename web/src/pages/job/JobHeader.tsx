import { ActionIcon, Badge, Code, CopyButton, Group, Stack, Text, Title, Tooltip } from '@mantine/core'
import { IconCheck, IconCopy } from '@tabler/icons-react'
import { JobActions } from './JobActions'
import { STATE_COLOR, type Job } from './jobState'

/** The action's name as the page title, the state, the id (copyable), cancel and retry. */
export function JobHeader({ job }: { job: Job }) {
  return (
    <Group justify="space-between" align="flex-start" wrap="wrap">
      <Stack gap={4}>
        <Group gap="sm" align="center">
          <Title order={1}>{job.action}</Title>
          <Badge size="lg" variant="dot" color={STATE_COLOR[job.state]} data-testid="job-state">
            {job.state}
          </Badge>
          {job.cancel_requested && job.state === 'running' && (
            <Badge variant="dot" color="orange">
              cancelling
            </Badge>
          )}
        </Group>
        <Group gap={4}>
          <Text size="sm" c="dimmed">
            Job
          </Text>
          <Code>{job.id}</Code>
          <CopyButton value={job.id}>
            {({ copied, copy }) => (
              <Tooltip label={copied ? 'Copied' : 'Copy the id'}>
                <ActionIcon variant="subtle" color={copied ? 'teal' : 'gray'} aria-label="Copy the job id" onClick={copy}>
                  {copied ? <IconCheck size={16} aria-hidden /> : <IconCopy size={16} aria-hidden />}
                </ActionIcon>
              </Tooltip>
            )}
          </CopyButton>
        </Group>
      </Stack>
      <JobActions job={job} />
    </Group>
  )
}
