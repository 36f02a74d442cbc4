/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The build lands inside the Python package, which serves it at "/" (see README.md).
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: '../src/conveyor/ui',
    emptyOutDir: true,
    rolldownOptions: {
      output: {
        // Libraries change less often than the app: their own chunks stay cached across releases.
        codeSplitting: {
          groups: [
            { name: 'react', test: /node_modules[\\/](react|react-dom|scheduler|react-router)[\\/]/, priority: 30 },
            { name: 'mantine', test: /node_modules[\\/]@mantine[\\/](core|hooks)[\\/]/, priority: 20 },
            { name: 'vendor', test: /node_modules[\\/](@tanstack|openapi-fetch|@floating-ui|@tabler)[\\/]/, priority: 10 },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8000',
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    css: false,
    // @rjsf/mantine imports 'dayjs/plugin/x' without the extension Node's ESM loader needs.
    server: { deps: { inline: ['@rjsf/mantine'] } },
  },
})
