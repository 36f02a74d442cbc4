import { Anchor, Stack, Text } from '@mantine/core'
import { Link, useParams } from 'react-router'
import { ErrorAlert } from '../components/ErrorAlert'
import { PageLoader } from '../components/PageLoader'
import { ArtifactList } from './job/ArtifactList'
import { AttemptTimeline } from './job/AttemptTimeline'
import { JobFacts } from './job/JobFacts'
import { JobHeader } from './job/JobHeader'
import { JobProgress } from './job/JobProgress'
import { isTerminal } from './job/jobState'
import { JsonBlock } from './job/JsonBlock'
import { LogViewer } from './job/log/LogViewer'
import { useLogFeed } from './job/log/useLogFeed'
import { Section } from './job/Section'
import { useAgentNames, useJob } from './job/useJob'

/** One job: its details, attempts, live log, result and artifacts. */
export default function JobPage() {
  const { jobId = '' } = useParams()
  const { job, attempts, artifacts } = useJob(jobId)
  const agentNames = useAgentNames()
  // Started with the job's own read, not after it: the log is the largest answer.
  const log = useLogFeed(jobId, job.data !== undefined && !isTerminal(job.data.state))

  if (job.isPending) return <PageLoader />
  if (job.isError) {
    return (
      <Stack>
        <ErrorAlert error={job.error} action="see this job" title="This job cannot be shown" />
        <Anchor component={Link} to="/jobs">
          Back to the jobs
        </Anchor>
      </Stack>
    )
  }
  const data = job.data
  return (
    <Stack gap="md">
      <JobHeader job={data} />
      <JobProgress job={data} />
      <JobFacts job={data} />
      <Section title="Attempts">
        <ErrorAlert error={attempts.error} action="see this job's attempts" />
        {attempts.data && <AttemptTimeline attempts={attempts.data.items} agentNames={agentNames} />}
      </Section>
      <Section title="Log">
        <LogViewer jobId={data.id} log={log} />
      </Section>
      <Section title="Result">
        {data.state === 'succeeded' ? (
          <JsonBlock value={data.result} label="Result" />
        ) : data.error !== null && data.error !== undefined ? (
          <JsonBlock value={data.error} label="Error" />
        ) : (
          <Text size="sm" c="dimmed">
            No result yet.
          </Text>
        )}
      </Section>
      <Section title="Artifacts">
        <ErrorAlert error={artifacts.error} action="see this job's files" />
        {artifacts.data && <ArtifactList jobId={data.id} artifacts={artifacts.data.items} />}
      </Section>
    </Stack>
  )
}
