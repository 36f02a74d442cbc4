import { Button, Group, Modal, Stack, Text } from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { ErrorAlert } from '../../components/ErrorAlert'
import { type BulkTarget, type BulkVerb, describeOutcome, runBulk } from './bulk'
import { filtersToApi, isFiltered, type JobFilters } from './filters'
import type { Selection } from './selection'
import { JOBS_LIST_KEY } from './useJobsList'

const VERB_LABEL: Record<BulkVerb, string> = { cancel: 'Cancel', retry: 'Retry' }
const APPLIES: Record<BulkVerb, string> = {
  cancel: 'Jobs still waiting stop at once; running ones are asked to stop. Finished jobs are skipped.',
  retry: 'Dead and cancelled jobs run again with a fresh set of attempts. Others are skipped.',
}

interface Props {
  verb: BulkVerb
  selection: Selection
  filters: JobFilters
  loadedCount: number
  moreOnServer: boolean
  onClose: () => void
  onDone: () => void
}

/** How many jobs the action touches, in words ("3 jobs", "every job matching the filter"). */
export function describeTarget(selection: Selection, filters: JobFilters, loadedCount: number, moreOnServer: boolean): string {
  if (!selection.allMatching) return `${selection.ids.size} ${selection.ids.size === 1 ? 'job' : 'jobs'}`
  const scope = isFiltered(filters) ? 'matching the filter' : 'of this team'
  if (!moreOnServer) return `all ${loadedCount} ${loadedCount === 1 ? 'job' : 'jobs'} ${scope}`
  return `every job ${scope} (${loadedCount} loaded here, more on the server)`
}

/** The confirmation of a bulk action; runs it, says what it did, refreshes the list. */
export function BulkConfirm({ verb, selection, filters, loadedCount, moreOnServer, onClose, onDone }: Props) {
  const queryClient = useQueryClient()
  const target: BulkTarget = selection.allMatching ? { filter: filtersToApi(filters) } : { ids: [...selection.ids] }
  const what = describeTarget(selection, filters, loadedCount, moreOnServer)
  const mutation = useMutation({
    mutationFn: () => runBulk(verb, target),
    onSuccess: (outcome) => {
      notifications.show({
        title: verb === 'cancel' ? 'Jobs cancelled' : 'Jobs retried',
        message: describeOutcome(verb, outcome),
        color: outcome.affected > 0 ? 'green' : 'gray',
      })
      void queryClient.invalidateQueries({ queryKey: JOBS_LIST_KEY })
      onDone()
      onClose()
    },
  })
  const label = `${VERB_LABEL[verb]} ${what}`
  const button = selection.allMatching ? `${VERB_LABEL[verb]} all` : label
  return (
    <Modal opened onClose={onClose} title={`${label}?`} centered closeButtonProps={{ 'aria-label': 'Close' }}>
      <Stack>
        <Text size="sm">{APPLIES[verb]}</Text>
        <ErrorAlert error={mutation.error} action={`${verb} jobs`} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose} disabled={mutation.isPending}>
            Back
          </Button>
          <Button color={verb === 'cancel' ? 'red' : undefined} onClick={() => mutation.mutate()} loading={mutation.isPending}>
            {button}
          </Button>
        </Group>
      </Stack>
    </Modal>
  )
}
