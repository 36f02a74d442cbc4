import { Badge, Button, Table, Text, VisuallyHidden } from '@mantine/core'
import { IconDownload } from '@tabler/icons-react'
import { useMutation } from '@tanstack/react-query'
import { client, unwrap } from '../../api/client'
import type { components } from '../../api/schema.gen'
import { ErrorAlert } from '../../components/ErrorAlert'
import { saveFile } from './log/pages'
import { formatTime } from './time'

type Artifact = components['schemas']['ArtifactOut']

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB']

/** "1.5 MB" (powers of 1024). */
export function formatSize(bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit += 1
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`
}

/** The files the job produced, each with its size and a download (through a signed URL). */
export function ArtifactList({ jobId, artifacts }: { jobId: string; artifacts: readonly Artifact[] }) {
  const download = useMutation({
    mutationFn: async (name: string) => {
      const signed = await unwrap(
        client.POST('/api/v1/jobs/{job_id}/artifacts/{name}/url', { params: { path: { job_id: jobId, name } } }),
      )
      saveFile(signed.url, name)
    },
  })
  if (artifacts.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        No artifacts.
      </Text>
    )
  }
  return (
    <>
      <ErrorAlert error={download.error} action="download this file" />
      <Table.ScrollContainer minWidth={500}>
        <Table verticalSpacing="xs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Size</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th>Created</Table.Th>
              <Table.Th>
                <VisuallyHidden>Download</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {artifacts.map((artifact) => (
              <Table.Tr key={artifact.name}>
                <Table.Td>
                  {artifact.name}{' '}
                  {!artifact.published && (
                    <Badge size="xs" variant="default">
                      unpublished
                    </Badge>
                  )}
                </Table.Td>
                <Table.Td title={`${artifact.size} bytes`}>{formatSize(artifact.size)}</Table.Td>
                <Table.Td>{artifact.content_type}</Table.Td>
                <Table.Td>{formatTime(artifact.created_at)}</Table.Td>
                <Table.Td>
                  <Button
                    size="xs"
                    variant="light"
                    leftSection={<IconDownload size={14} aria-hidden />}
                    loading={download.isPending && download.variables === artifact.name}
                    onClick={() => download.mutate(artifact.name)}
                    aria-label={`Download ${artifact.name}`}
                  >
                    Download
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </>
  )
}
