import { Alert, Button, Divider, Group, Paper, Stack, Text, Title } from '@mantine/core'
import type { ErrorSchema } from '@rjsf/utils'
import { useMutation } from '@tanstack/react-query'
import { useMemo, useState } from 'react'
import { useNavigate, useSearchParams } from 'react-router'
import { client, unwrap } from '../api/client'
import type { components } from '../api/schema.gen'
import { ErrorAlert } from '../components/ErrorAlert'
import { PageLoader } from '../components/PageLoader'
import { useMe } from '../session/hooks'
import { ActionPicker } from './newjob/ActionPicker'
import { JobOptionsFields } from './newjob/JobOptionsFields'
import { EMPTY_OPTIONS, optionsBody, type JobOptionsValue } from './newjob/options'
import { ParamsForm } from './newjob/ParamsForm'
import { placeError, type OptionField } from './newjob/serverErrors'
import { formSchema, useActions } from './newjob/useActions'

type Params = Record<string, unknown>
type JobCreate = components['schemas']['JobCreate']

/** Submit a job: pick an action, fill the form generated from its parameter schema. */
export default function NewJobPage() {
  const [search, setSearch] = useSearchParams()
  const navigate = useNavigate()
  const { can, canCreate, isPending: mePending } = useMe()
  const actions = useActions()
  const allowed = useMemo(
    () => (actions.data ?? []).filter((action) => can(`jobs:create:${action.name}`)),
    [actions.data, can],
  )
  const actionName = search.get('action')
  const action = allowed.find((candidate) => candidate.name === actionName)
  const schema = useMemo(() => (action ? formSchema(action) : null), [action])

  const [params, setParams] = useState<Params>({})
  const [options, setOptions] = useState<JobOptionsValue>(EMPTY_OPTIONS)
  const [paramErrors, setParamErrors] = useState<ErrorSchema | undefined>()
  const [optionErrors, setOptionErrors] = useState<Partial<Record<OptionField, string>>>({})
  const [general, setGeneral] = useState<unknown>(null)

  const clearErrors = () => {
    setParamErrors(undefined)
    setOptionErrors({})
    setGeneral(null)
  }

  const pick = (name: string | null) => {
    clearErrors()
    setParams({})
    const next = new URLSearchParams(search)
    if (name) next.set('action', name)
    else next.delete('action')
    setSearch(next, { replace: true })
  }

  const submit = useMutation({
    mutationFn: (body: JobCreate) =>
      unwrap(client.POST('/api/v1/jobs', { body })),
    onSuccess: (job) => navigate(`/jobs/${job.id}`),
    onError: (error) => {
      const placed = placeError(error)
      setParamErrors(placed.params)
      setOptionErrors(placed.option ? { [placed.option.field]: placed.option.message } : {})
      setGeneral(placed.general ?? null)
    },
  })

  const send = (formParams: Params) => {
    if (!action) return
    clearErrors()
    const extra = optionsBody(options)
    if ('error' in extra && extra.error) {
      setOptionErrors({ [extra.error.field]: extra.error.message })
      return
    }
    submit.mutate({ action: action.name, params: formParams, ...extra.body })
  }

  if (mePending || actions.isPending) {
    return (
      <Stack>
        <Title order={1}>New job</Title>
        <PageLoader />
      </Stack>
    )
  }
  if (!canCreate) {
    return (
      <Stack>
        <Title order={1}>New job</Title>
        <Alert color="gray" title="Not allowed">
          Your role in this team does not allow submitting jobs.
        </Alert>
      </Stack>
    )
  }
  return (
    <Stack maw={820}>
      <Title order={1}>New job</Title>
      <ErrorAlert error={actions.error} action="see the actions" />
      {actions.data && !allowed.length && (
        <Alert color="gray" title="No action to run">
          No agent has offered an action you may run yet. Connect an agent (see Agents), and its actions appear here.
        </Alert>
      )}
      {actionName && actions.data && !action && (
        <Alert color="gray" title="Unknown action">
          This team has no action named “{actionName}” that you may run. Pick one below.
        </Alert>
      )}
      <ActionPicker actions={allowed} value={action?.name ?? null} onChange={pick} />
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
            disabled={submit.isPending}
          >
            <Stack gap="md" mt="md">
              <Divider label="Options" labelPosition="left" />
              <JobOptionsFields
                value={options}
                onChange={(next) => {
                  setOptions(next)
                  if (Object.keys(optionErrors).length) setOptionErrors({})
                }}
                errors={optionErrors}
              />
              <ErrorAlert error={general} action={`run ${action.name}`} />
              <Group justify="flex-end">
                <Text size="sm" c="dimmed">
                  Empty options take the server's defaults.
                </Text>
                <Button type="submit" loading={submit.isPending}>
                  Submit job
                </Button>
              </Group>
            </Stack>
          </ParamsForm>
        </Paper>
      )}
    </Stack>
  )
}
