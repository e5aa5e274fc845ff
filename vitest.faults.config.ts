/**
 * The fault suite (npm run test:faults): tests that kill processes and stop real services
 * (servers, Redis, RabbitMQ, a Ceph OSD, the MariaDB replica). One file at a time, after the main
 * suite, so no other test shares a service while it is down.
 */
import { defineConfig } from 'vitest/config';
import { FAULT_FILES, SERVICES_GLOBAL_SETUP, shared } from './vitest.config.ts';

export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: FAULT_FILES,
    globalSetup: SERVICES_GLOBAL_SETUP,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
