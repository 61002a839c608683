import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    // The first run may build FerretDB with Go (about a minute).
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
  },
});
