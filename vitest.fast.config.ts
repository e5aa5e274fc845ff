/**
 * The fast tier (npm test): every test that needs no service — no MariaDB, Redis, RabbitMQ or
 * Ceph — in well under a minute: pure logic, the embedded stack (SQLite + in-memory KV/queue +
 * local disk), each tRPC router through a caller, and the gateway over HTTP on that stack. The
 * files are listed in vitest.config.ts (FAST_FILES, and the embedded half of SPLIT_FILES);
 * scripts/test.sh runs this tier in a network namespace with nothing but loopback.
 */
import { defineConfig } from 'vitest/config';
import { EXCLUDED, FAST_FILES, shared, SPLIT_FILES } from './vitest.config.ts';

export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: [...FAST_FILES, ...SPLIT_FILES],
    exclude: EXCLUDED,
    env: { ...shared.test.env, STRATUS_TEST_TIER: 'fast' },
    // One module graph per worker instead of one per file: most of these files load the whole
    // embedded app (MikroORM, the S3 SDK, Apollo), and importing it afresh for each of ~40 files
    // was 2 minutes of a 4-minute run on this 2-core box; without isolation the tier takes about a
    // quarter of the CPU. Safe because no test here relies on a fresh module: each app, database and
    // KV is made by the test itself (the full run, vitest.config.ts, still isolates every file).
    isolate: false,
  },
});
