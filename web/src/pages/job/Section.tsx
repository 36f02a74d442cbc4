import { Paper, Stack, Title } from '@mantine/core'
import type { ReactNode } from 'react'

/** A titled part of the job page (an h2). */
export function Section({ title, children, right }: { title: string; children: ReactNode; right?: ReactNode }) {
  return (
    <Paper withBorder p="md" component="section" aria-label={title}>
      <Stack gap="sm">
        {right ? (
          <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
            <Title order={2} size="h4">
              {title}
            </Title>
            {right}
          </div>
        ) : (
          <Title order={2} size="h4">
            {title}
          </Title>
        )}
        {children}
      </Stack>
    </Paper>
  )
}
