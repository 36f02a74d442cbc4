import { Anchor, Stack, Text, Title } from '@mantine/core'
import { Link } from 'react-router'

/** An unknown in-app path. */
export default function NotFoundPage() {
  return (
    <Stack>
      <Title order={1}>Page not found</Title>
      <Text>
        Nothing lives at this address. <Anchor component={Link} to="/jobs">Go to the jobs</Anchor>.
      </Text>
    </Stack>
  )
}
