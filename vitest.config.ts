import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/** Tests that stop shared services: run by vitest.faults.config.ts on their own, after the rest. */
export const FAULT_FILES = ['test/faults/**/*.test.ts', 'test/e2e/transfer.e2e.test.ts', 'test/e2e/replica.e2e.test.ts', 'test/deploy/pods.test.ts'];

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
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
};

export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'data/**', 'web/**/node_modules/**', ...FAULT_FILES],
  },
});
