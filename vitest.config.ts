import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_DEV: 'false' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: integration files each start a relay and receivers; keep them from starving.
    maxWorkers: 2,
  },
});
