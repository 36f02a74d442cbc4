import { createTheme, type CSSVariablesResolver } from '@mantine/core'

/** The app's Mantine theme. */
export const theme = createTheme({
  primaryColor: 'blue',
  defaultRadius: 'md',
})

/**
 * Mantine's default "dimmed" text is below the WCAG AA contrast of 4.5:1 (3.3:1 on white,
 * 4.0:1 on the dark body); these shades pass it on both.
 */
export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: { '--mantine-color-dimmed': 'var(--mantine-color-gray-7)' },
  dark: { '--mantine-color-dimmed': 'var(--mantine-color-dark-1)' },
})
