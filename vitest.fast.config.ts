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
  },
});
