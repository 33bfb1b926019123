import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'text'],
      // CI enforces these; raise them as the code matures.
      thresholds: { lines: 90, statements: 90, functions: 90, branches: 80 },
    },
  },
});
