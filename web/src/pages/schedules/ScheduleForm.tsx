import { Alert, Button, Divider, Group, Paper, Stack } from '@mantine/core'
import type { ErrorSchema } from '@rjsf/utils'
import { useMutation } from '@tanstack/react-query'
import { useMemo, useState } from 'react'
import { ErrorAlert } from '../../components/ErrorAlert'
import { useMe } from '../../session/hooks'
import { ActionPicker } from '../newjob/ActionPicker'
import { ParamsForm } from '../newjob/ParamsForm'
import { formSchema, useActions } from '../newjob/useActions'
import { emptyForm, formOf, placeScheduleError, scheduleBody, type FormErrors, type ScheduleFormValue } from './form'
import { RunOptionsFields, ScheduleNameFields, ScheduleTimingFields } from './ScheduleFields'
import type { ScheduleIn, ScheduleOut } from './types'

type Params = Record<string, unknown>

interface Props {
  /** The schedule being edited; none for a new one. */
  schedule?: ScheduleOut
  /** Sends the body (POST or PATCH); its refusal is shown at the field it names. */
  save: (body: ScheduleIn) => Promise<ScheduleOut>
  onSaved: (schedule: ScheduleOut) => void
  submitLabel: string
}

/** A schedule's form: name, the action and its params (generated from its schema), when it
 * runs (cron with a live preview, time zone, policies) and the options of each run. */
export function ScheduleForm({ schedule, save, onSaved, submitLabel }: Props) {
  const { can } = useMe()
  const actions = useActions()
  const allowed = useMemo(
    () => (actions.data ?? []).filter((action) => can(`jobs:create:${action.name}`) || action.name === schedule?.action),
    [actions.data, can, schedule?.action],
  )
  const [actionName, setActionName] = useState<string | null>(schedule?.action ?? null)
  const action = allowed.find((candidate) => candidate.name === actionName)
  const schema = useMemo(() => (action ? formSchema(action) : null), [action])
  const [value, setValue] = useState<ScheduleFormValue>(() => (schedule ? formOf(schedule) : emptyForm()))
  const [params, setParams] = useState<Params>(() => (schedule?.params ?? {}) as Params)
  const [paramErrors, setParamErrors] = useState<ErrorSchema | undefined>()
  const [errors, setErrors] = useState<FormErrors>({})
  const [general, setGeneral] = useState<unknown>(null)

  const clearErrors = () => {
    setParamErrors(undefined)
    setErrors({})
    setGeneral(null)
  }
  const change = (next: ScheduleFormValue) => {
    setValue(next)
    if (Object.keys(errors).length) setErrors({})
  }

  const mutation = useMutation({
    mutationFn: save,
    onSuccess: onSaved,
    onError: (error) => {
      const placed = placeScheduleError(error)
      setParamErrors(placed.params)
      setErrors(placed.field ? { [placed.field.name]: placed.field.message } : {})
      setGeneral(placed.general ?? null)
    },
  })

  const send = (formParams: Params) => {
    if (!action) return
    clearErrors()
    const built = scheduleBody(value, action.name, formParams)
    if ('error' in built) {
      setErrors({ [built.error.field]: built.error.message })
      return
    }
    mutation.mutate(built.body)
  }

  return (
    <Stack maw={900}>
      <ErrorAlert error={actions.error} action="see the actions" />
      <ScheduleNameFields value={value} onChange={change} errors={errors} />
      {actions.data && !allowed.length && (
        <Alert color="gray" title="No action to run">
          No agent has offered an action you may run yet. Connect an agent (see Agents), and its actions appear here.
        </Alert>
      )}
      <ActionPicker
        actions={allowed}
        value={action?.name ?? null}
        onChange={(name) => {
          clearErrors()
          setParams({})
          setActionName(name)
        }}
      />
      {errors.action && (
        <Alert color="red" role="alert">
          {errors.action}
        </Alert>
      )}
      {action && schema && (
        <Paper withBorder p="md" radius="md">
          <ParamsForm
            key={action.name}
            schema={schema}
            formData={params}
            onChange={(next) => {
              setParams(next)
              if (paramErrors) setParamErrors(undefined)
            }}
            onSubmit={send}
            extraErrors={paramErrors}
            disabled={mutation.isPending}
          >
            <Stack gap="md" mt="md">
              <Divider label="When it runs" labelPosition="left" />
              <ScheduleTimingFields value={value} onChange={change} errors={errors} editing={schedule !== undefined} />
              <Divider label="Each run" labelPosition="left" />
              <RunOptionsFields value={value} onChange={change} errors={errors} />
              <ErrorAlert error={general} action="save this schedule" />
              <Group justify="flex-end">
                <Button type="submit" loading={mutation.isPending}>
                  {submitLabel}
                </Button>
              </Group>
            </Stack>
          </ParamsForm>
        </Paper>
      )}
    </Stack>
  )
}
