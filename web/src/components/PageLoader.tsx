import { Center, Loader } from '@mantine/core'

/** A centred spinner while a page or the session loads. */
export function PageLoader() {
  return (
    <Center py="xl">
      <Loader aria-label="Loading" />
    </Center>
  )
}
