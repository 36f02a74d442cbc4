import { Group, Progress, Text } from '@mantine/core'
import { progressView, type Job } from './jobState'

/** The job's progress as a bar, live from its `job` events. */
export function JobProgress({ job }: { job: Job }) {
  const view = progressView(job.progress)
  if (!view) return null
  const running = job.state === 'running'
  return (
    <div>
      <Group justify="space-between" mb={4}>
        <Text size="sm" fw={600}>
          Progress
        </Text>
        <Text size="sm" c="dimmed" data-testid="job-progress-text">
          {view.label}
        </Text>
      </Group>
      {view.percent !== null && (
        <Progress.Root size="lg">
          <Progress.Section
            value={view.percent}
            animated={running}
            striped={running}
            color={job.state === 'succeeded' ? 'green' : job.state === 'dead' ? 'red' : 'blue'}
            aria-label={`Progress: ${view.label}`}
          />
        </Progress.Root>
      )}
    </div>
  )
}
