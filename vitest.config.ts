import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A private temp directory per run; fails the run when a test leaves ep-* or cdktf.outdir.* folders.
    globalSetup: ['test/temp-dir-check.ts'],
    environment: 'node',
    // Suites start real servers on loopback; give slow CI machines room without hiding hangs.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
