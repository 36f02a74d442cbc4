import { Button, Group, Modal, Stack, Text } from '@mantine/core'
import { useDisclosure } from '@mantine/hooks'
import { useMutation } from '@tanstack/react-query'
import type { ReactNode } from 'react'
import { ErrorAlert } from '../../components/ErrorAlert'

interface Props {
  /** The button's text, e.g. "Cancel". */
  label: string
  icon?: ReactNode
  color?: string
  title: string
  message: ReactNode
  /** The confirming button's text, e.g. "Cancel job". */
  confirm: string
  /** "No, keep it" text for the dismissing button. */
  dismiss?: string
  /** Completes "You don't have permission to …" on a 403. */
  action: string
  run: () => Promise<unknown>
}

/** A write action behind a confirmation dialog; its error stays in the dialog, never blank. */
export function ConfirmButton({ label, icon, color, title, message, confirm, dismiss = 'Back', action, run }: Props) {
  const [opened, { open, close }] = useDisclosure(false)
  const mutation = useMutation({ mutationFn: run, onSuccess: close })
  const openDialog = () => {
    mutation.reset()
    open()
  }
  return (
    <>
      <Button variant="default" leftSection={icon} onClick={openDialog}>
        {label}
      </Button>
      <Modal opened={opened} onClose={close} title={title} centered closeButtonProps={{ 'aria-label': 'Close' }}>
        <Stack>
          <Text size="sm">{message}</Text>
          <ErrorAlert error={mutation.error} action={action} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              {dismiss}
            </Button>
            <Button color={color ?? 'blue.8'} loading={mutation.isPending} onClick={() => mutation.mutate()}>
              {confirm}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  )
}
