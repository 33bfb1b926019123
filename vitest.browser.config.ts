import { defineConfig } from 'vitest/config';

// The HTML report in a real browser (npm run test:browser): headless Chromium, Debian's package, driven by playwright-core.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 120_000,
  },
});
