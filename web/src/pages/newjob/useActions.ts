import { useQuery } from '@tanstack/react-query'
import { client, unwrap } from '../../api/client'
import type { components } from '../../api/schema.gen'

export type Action = components['schemas']['ActionOut']
export const ACTIONS_KEY = ['actions'] as const

/** The team's action catalog (kept after agents leave). */
export function useActions() {
  return useQuery({
    queryKey: ACTIONS_KEY,
    queryFn: async () => (await unwrap(client.GET('/api/v1/actions'))).items,
    staleTime: 30_000,
  })
}

/** The schema a new job's params are checked against: the newest version's, made fit for the
 * form (no `$schema` the browser validator may not know, no title repeating the action). */
export function formSchema(action: Action): Record<string, unknown> {
  const newest = action.versions[0]?.params_schema ?? { type: 'object' }
  const schema: Record<string, unknown> = { type: 'object', ...newest }
  delete schema.$schema
  delete schema.title
  return schema
}
