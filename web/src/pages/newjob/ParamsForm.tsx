import Form, { Templates } from '@rjsf/mantine'
import type { BaseInputTemplateProps, ErrorSchema, RJSFSchema } from '@rjsf/utils'
import type { ReactNode } from 'react'
import { schemaValidator } from './schemaValidator'

const BaseInput = Templates.BaseInputTemplate!

/** Mantine's NumberInput clamps a number out of range on blur, silently sending another
 * value than the one typed; here the value stays and the validator says what is wrong. */
function NumberKeepingInput(props: BaseInputTemplateProps) {
  const numeric = props.schema.type === 'number' || props.schema.type === 'integer'
  return <BaseInput {...props} options={numeric ? { ...props.options, clampBehavior: 'none' } : props.options} />
}

type Params = Record<string, unknown>

interface ParamsFormProps {
  schema: Record<string, unknown>
  formData: Params
  onChange: (params: Params) => void
  onSubmit: (params: Params) => void
  /** The server's errors, placed at their fields. */
  extraErrors?: ErrorSchema
  disabled?: boolean
  /** Rendered inside the form, after the params (the options and the submit button). */
  children: ReactNode
}

/** The form generated from an action's params JSON Schema (@rjsf/mantine). */
export function ParamsForm({ schema, formData, onChange, onSubmit, extraErrors, disabled, children }: ParamsFormProps) {
  return (
    <Form
      schema={schema as RJSFSchema}
      validator={schemaValidator}
      formData={formData}
      onChange={({ formData: next }) => onChange((next ?? {}) as Params)}
      onSubmit={({ formData: next }) => onSubmit((next ?? {}) as Params)}
      // The errors show at their fields; without a handler rjsf also logs them to the console.
      onError={() => undefined}
      extraErrors={extraErrors}
      showErrorList={false}
      noHtml5Validate
      disabled={disabled}
      templates={{ BaseInputTemplate: NumberKeepingInput }}
    >
      {children}
    </Form>
  )
}
