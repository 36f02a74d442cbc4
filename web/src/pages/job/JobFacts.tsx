import { Anchor, Badge, Group, Paper, SimpleGrid, Stack, Text, Title } from '@mantine/core'
import type { ReactNode } from 'react'
import { Link } from 'react-router'
import { waitingLong } from '../../components/waiting'
import type { Job } from './jobState'
import { JsonBlock } from './JsonBlock'
import { formatDuration, formatTime } from './time'

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" fw={600} tt="uppercase">
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </div>
  )
}

/** Who submitted it (a user or an API key), when the server records it. */
function submitter(job: Job): string {
  const by = job.created_by
  if (!by) return '—'
  return by.kind === 'key' ? `API key ${by.name}` : by.name
}

/** What the job is: params, queue, priority, labels, who submitted it, and when it ran. */
export function JobFacts({ job }: { job: Job }) {
  const labels = Object.entries(job.labels)
  return (
    <Paper withBorder p="md">
      <Stack gap="md">
        <SimpleGrid cols={{ base: 2, md: 4 }} spacing="md">
          <Fact label="Queue">{job.queue}</Fact>
          <Fact label="Priority">{job.priority}</Fact>
          <Fact label="Submitted by">{submitter(job)}</Fact>
          <Fact label="Attempts">
            {job.attempt} of {job.max_attempts}
          </Fact>
          <Fact label="Created">{formatTime(job.created_at)}</Fact>
          <Fact label="Started">{formatTime(job.started_at)}</Fact>
          <Fact label="Finished">{formatTime(job.finished_at)}</Fact>
          <Fact label="Duration">{job.started_at ? formatDuration(job.started_at, job.finished_at) : '—'}</Fact>
          {job.waiting_reason && <Fact label="Waiting for">{waitingLong(job.waiting_reason)}</Fact>}
          {job.timeout_s !== null && <Fact label="Timeout">{job.timeout_s} s</Fact>}
          {job.idempotency_key && <Fact label="Idempotency key">{job.idempotency_key}</Fact>}
          {job.concurrency_key && <Fact label="Concurrency key">{job.concurrency_key}</Fact>}
          {job.schedule_id && (
            <Fact label="Schedule">
              <Anchor component={Link} to={`/schedules/${job.schedule_id}`} size="sm">
                {job.schedule_fire_at ? `the run of ${formatTime(job.schedule_fire_at)}` : 'run now'}
              </Anchor>
            </Fact>
          )}
          {job.rate_key && <Fact label="Rate key">{job.rate_key}</Fact>}
          {job.fair_key && <Fact label="Fair key">{job.fair_key}</Fact>}
        </SimpleGrid>
        <Fact label="Labels">
          {labels.length === 0 ? (
            '—'
          ) : (
            <Group gap={6} mt={4}>
              {labels.map(([key, value]) => (
                <Badge key={key} variant="default" tt="none">
                  {key}={value}
                </Badge>
              ))}
            </Group>
          )}
        </Fact>
        <div>
          <Title order={2} size="h5" mb={6}>
            Params
          </Title>
          <JsonBlock value={job.params} label="Params" />
        </div>
      </Stack>
    </Paper>
  )
}
