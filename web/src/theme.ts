import { createTheme, type CSSVariablesResolver } from '@mantine/core'

/** The app's Mantine theme. */
export const theme = createTheme({
  primaryColor: 'blue',
  // blue.6 (the default) is 3.5:1 against white, as text and under white text; blue.8 passes AA.
  primaryShade: { light: 8, dark: 8 },
  defaultRadius: 'md',
})

/**
 * Mantine's default "dimmed" text is below the WCAG AA contrast of 4.5:1 (3.3:1 on white,
 * 4.0:1 on the dark body), and so are input placeholders and field errors; these shades pass
 * it on both.
 */
export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
    '--mantine-color-placeholder': 'var(--mantine-color-gray-7)',
    // A field's error text and border: red.6 is 3.3:1 on white, red.9 5.4:1.
    '--mantine-color-error': 'var(--mantine-color-red-9)',
    // The active navigation link under the pointer: blue.9 on blue.2 is 4.0:1, on blue.1 4.9:1.
    '--mantine-color-blue-light-hover': 'var(--mantine-color-blue-1)',
  },
  dark: {
    '--mantine-color-dimmed': 'var(--mantine-color-dark-1)',
    '--mantine-color-placeholder': 'var(--mantine-color-dark-1)',
    // red.8 is 3.0:1 on a dark input, red.4 5.9:1.
    '--mantine-color-error': 'var(--mantine-color-red-4)',
  },
})
