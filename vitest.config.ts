import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // An unusual zone (UTC+12:45/+13:45 with DST) so any accidental use of local time shows up.
    env: { TZ: 'Pacific/Chatham' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
