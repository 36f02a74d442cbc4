import { Button, Group, Table, Text } from '@mantine/core'
import { useVirtualizer } from '@tanstack/react-virtual'
import { useEffect, useRef } from 'react'
import type { Job } from './cache'
import { JobRow, ROW_HEIGHT } from './JobRow'
import rowClasses from './JobRow.module.css'

/** The performance mark set when rows are first on screen (read by bench/web_jobs_page.py). */
export const TABLE_MARK = 'conveyor:jobs-table'
/** Fetch the next page when this few loaded rows remain below the view. */
const PREFETCH_ROWS = 30
const COLUMNS = [
  { name: 'ID', width: 88 },
  { name: 'Action', width: undefined },
  // Wide enough for a waiting job's reason beside its state ("scheduled  concurrency").
  { name: 'State', width: 180 },
  { name: 'Queue', width: 90 },
  { name: 'Priority', width: 70 },
  { name: 'Agent', width: 90 },
  { name: 'Created', width: 150 },
  { name: 'Created by', width: 100 },
  { name: 'Progress', width: 80 },
]

interface Props {
  jobs: readonly Job[]
  agentNames: ReadonlyMap<string, string>
  /** Checkboxes shown (the user may cancel or retry). */
  selectable: boolean
  isSelected: (id: string) => boolean
  onToggle: (id: string) => void
  /** The header checkbox: every loaded row. */
  loadedCoverage: 'all' | 'some' | 'none'
  onToggleLoaded: (on: boolean) => void
  hasNextPage: boolean
  isFetchingNextPage: boolean
  fetchNextPage: () => void
}

/** The jobs, virtualised: only the rows in view are in the page, however many are loaded. */
export function JobsTable(props: Props) {
  const { jobs, selectable, hasNextPage, isFetchingNextPage, fetchNextPage } = props
  const scroller = useRef<HTMLDivElement>(null)
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is read in render by design
  const virtualizer = useVirtualizer({
    count: jobs.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    initialRect: { width: 1200, height: 800 },
    getItemKey: (index) => jobs[index].id,
  })
  const rows = virtualizer.getVirtualItems()
  const lastIndex = rows.at(-1)?.index ?? -1

  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && lastIndex >= jobs.length - PREFETCH_ROWS) fetchNextPage()
  }, [lastIndex, jobs.length, hasNextPage, isFetchingNextPage, fetchNextPage])

  const shown = rows.length > 0
  useEffect(() => {
    if (shown && performance.getEntriesByName(TABLE_MARK).length === 0) performance.mark(TABLE_MARK)
  }, [shown])

  const top = rows[0]?.start ?? 0
  const bottom = virtualizer.getTotalSize() - (rows.at(-1)?.end ?? 0)
  const span = COLUMNS.length + (selectable ? 1 : 0)
  return (
    <>
      <div
        ref={scroller}
        role="region"
        aria-label="Jobs table"
        tabIndex={0}
        style={{ height: 'max(320px, calc(100dvh - 330px))', overflow: 'auto' }}
      >
        <Table stickyHeader layout="fixed" highlightOnHover verticalSpacing={6} miw={1000}>
          <Table.Thead>
            <Table.Tr>
              {selectable && (
                <Table.Th w={44}>
                  <input
                    type="checkbox"
                    className={rowClasses.check}
                    aria-label="Select all loaded jobs"
                    checked={props.loadedCoverage === 'all'}
                    ref={(box) => {
                      if (box) box.indeterminate = props.loadedCoverage === 'some'
                    }}
                    onChange={() => props.onToggleLoaded(props.loadedCoverage !== 'all')}
                  />
                </Table.Th>
              )}
              {COLUMNS.map((column) => (
                <Table.Th key={column.name} w={column.width}>
                  {column.name}
                </Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {top > 0 && (
              <tr aria-hidden style={{ height: top }}>
                <td colSpan={span} />
              </tr>
            )}
            {rows.map((row) => {
              const job = jobs[row.index]
              return (
                <JobRow
                  key={job.id}
                  job={job}
                  agentName={job.agent_id ? (props.agentNames.get(job.agent_id) ?? null) : null}
                  selectable={selectable}
                  selected={props.isSelected(job.id)}
                  onToggle={props.onToggle}
                />
              )
            })}
            {bottom > 0 && (
              <tr aria-hidden style={{ height: bottom }}>
                <td colSpan={span} />
              </tr>
            )}
          </Table.Tbody>
        </Table>
      </div>
      <Group justify="space-between" data-loaded={jobs.length} data-more={hasNextPage}>
        <Text size="sm" c="dimmed" aria-live="polite">
          {jobs.length} {jobs.length === 1 ? 'job' : 'jobs'} loaded{hasNextPage ? ', more below' : ''}
        </Text>
        {hasNextPage && (
          <Button variant="default" size="xs" onClick={fetchNextPage} loading={isFetchingNextPage}>
            Load more
          </Button>
        )}
      </Group>
    </>
  )
}
