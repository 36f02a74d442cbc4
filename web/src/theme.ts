import { createTheme } from '@mantine/core'

/** The app's Mantine theme. */
export const theme = createTheme({
  primaryColor: 'blue',
  defaultRadius: 'md',
})
