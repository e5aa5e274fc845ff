import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/** Tests that stop shared services: run by vitest.faults.config.ts on their own, after the rest. */
export const FAULT_FILES = ['test/faults/**/*.test.ts', 'test/e2e/transfer.e2e.test.ts', 'test/e2e/replica.e2e.test.ts', 'test/deploy/pods.test.ts'];

/**
 * The fast tier (npm test, vitest.fast.config.ts): files that need no service at all — pure logic,
 * the embedded stack (SQLite, in-memory KV and queue, local disk), servers and fakes the test starts
 * on 127.0.0.1 — and finish in seconds. scripts/test.sh runs them in a network namespace holding
 * only loopback, which proves the first part. A new file belongs here when it passes there too.
 */
export const FAST_FILES = [
  'api/gateway.test.ts',
  'api/graphql/ws-sessions.test.ts',
  'api/http/*.test.ts',
  'internal/files/content-hash.test.ts',
  'internal/files/search/search-key.test.ts',
  'internal/files/search/search.grams.test.ts',
  'internal/files/blobs.writer.test.ts',
  'internal/files/shares.router.test.ts',
  'internal/files/download-links.router.test.ts',
  'internal/uploads/*.test.ts',
  'internal/uploads/tus/*.test.ts',
  'internal/uploads/upload-links/*.test.ts',
  'api/http/tus/*.test.ts',
  'internal/transfer/*.test.ts',
  'internal/thumbnails/*.test.ts',
  'internal/storage/s3/lean-get.test.ts',
  'internal/storage/support/buffer-pool.test.ts',
  'internal/locks/*.test.ts',
  'api/dav/if-header.test.ts',
  'api/dav/dav-core.test.ts',
  'api/dav/multistatus.test.ts',
  'internal/platform/auth/*.test.ts',
  'internal/platform/config.test.ts',
  'internal/platform/db/read-routing.test.ts',
  'internal/platform/rate-limit.test.ts',
  'internal/platform/splice.test.ts',
  'scripts/lib/test-summary.test.ts',
  'internal/platform/rpc/*.test.ts',
  // Against the in-process fake API server; reconcile.test.ts talks to Ceph and is not here.
  'operator/{blob-inventory,crd,default-election,deletion,fake-kube-api,health.server,leader,rbac,watch,work-queue}.test.ts',
  // The chart tests need no service either, but run helm dozens of times (~30 s of CPU): main suite.
  'test/deploy/crd.test.ts',
  'test/deploy/dockerfile.test.ts',
  // The GraphQL contract checks (codegen staleness, breaking schema changes, the README table).
  'scripts/codegen/*.test.ts',
  'api/graphql/resolvers/*.test.ts',
  // The bench's own helpers (CPU meter, the README table written from bench/results/latest.json).
  'bench/lib/*.test.ts',
  // The run's temp directory (test/support/run-tmpdir.ts); run-buckets.test.ts needs Ceph.
  'test/support/run-tmpdir.test.ts',
  // The CLI's byte transport against servers the test starts.
  'cli/lib/http-send.test.ts',
];

/**
 * Files of `describe.each(STACKS)` (test/support/runtime.ts): their embedded half is in the fast
 * tier, their real half (MariaDB + Redis) in the services tier; STRATUS_TEST_TIER picks the half.
 */
export const SPLIT_FILES = [
  'internal/accounts/accounts.router.test.ts',
  'internal/accounts/registration-drive.test.ts',
  'internal/accounts/access-tokens.service.test.ts',
  'internal/files/drive-rows.test.ts',
  'internal/files/files.router.test.ts',
  'internal/files/file-properties.router.test.ts',
  'internal/files/drive-paths.router.test.ts',
  'internal/files/search/search.router.test.ts',
];

export const shared = {
  resolve: {
    // graphql ships CJS (main) and ESM (module) builds; Node-loaded dependencies (graphql-ws,
    // Apollo) get the CJS one, so tests must too, or two graphql "realms" meet at runtime.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks' as const,
    // Vitest's default is one worker less than the CPUs: ONE on the 2-core CI machines, where the
    // main suite then took 16-19 minutes, mostly waiting (MariaDB, Ceph, child servers, Chromium),
    // and the fast tier ~1 minute. Two files at a time there: ~7.5 minutes and ~30 s (the files
    // share nothing that one of them changes: each has its own database, Redis keys or database,
    // queue names, object keys, ports and temp dirs). Three gained only ~6 % more on 2 cores, the
    // CPU then being the limit. The fault suite runs one file at a time regardless.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // What tests leave in os.tmpdir() is removed when the run ends (test/support/run-tmpdir.ts).
    globalSetup: ['test/support/run-tmpdir.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
};

/**
 * The globalSetup of the configs whose tests use the services: each run also writes to S3 buckets
 * of its own, removed with their contents when it ends (test/support/run-buckets.ts). Not the
 * fast tier's: it has no network to reach Ceph.
 */
export const SERVICES_GLOBAL_SETUP = [...shared.test.globalSetup, 'test/support/run-buckets.ts'];

export const EXCLUDED = ['node_modules/**', 'data/**', 'web/**/node_modules/**'];

/**
 * Every test once (`npx vitest run`). STRATUS_TEST_TIER=services (scripts/test.sh, after the fast
 * tier ran) leaves the fast files out and runs the real half of the split ones.
 */
const servicesTier = process.env.STRATUS_TEST_TIER === 'services';

export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: ['**/*.test.ts'],
    exclude: [...EXCLUDED, ...FAULT_FILES, ...(servicesTier ? FAST_FILES : [])],
    globalSetup: SERVICES_GLOBAL_SETUP,
  },
});
