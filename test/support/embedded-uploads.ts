/**
 * The uploads service over its files service on the embedded stack (SQLite, in-memory KV, local
 * disk; no service needed), built as the gateway builds it, for caller-level tests of the uploads
 * router; and a new person with a provisioned drive and callers of both routers.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createFiles } from '../../internal/files/index.ts';
import { createLogger } from '../../internal/platform/logger.ts';
import type { Viewer } from '../../internal/platform/request-context.ts';
import { localClient } from '../../internal/platform/rpc/client.ts';
import { createCallerFactory } from '../../internal/platform/rpc/trpc.ts';
import { createUploads } from '../../internal/uploads/index.ts';
import { callerAs } from './embedded.ts';
import { createTestRuntime, type TestRuntime } from './runtime.ts';

export const silentLog = createLogger({ level: 'silent' });

export interface EmbeddedUploads {
  t: TestRuntime;
  files: ReturnType<typeof createFiles>;
  uploads: ReturnType<typeof createUploads>;
}

/** Registers beforeAll/afterAll; the stack's fields are set once beforeAll ran. */
export function embeddedUploads(env: Record<string, string> = {}) {
  const stack = {} as EmbeddedUploads;
  beforeAll(async () => {
    stack.t = await createTestRuntime('embedded', env);
    stack.files = createFiles(stack.t.runtime);
    stack.uploads = createUploads(stack.t.runtime, localClient(stack.files.router, silentLog));
  });
  afterAll(() => stack.t?.close());

  async function person() {
    const viewer: Viewer = { userId: randomUUID(), username: 'u', isAdmin: false };
    await callerAs(createCallerFactory(stack.files.router), viewer).provisionDrive();
    return { viewer, up: callerAs(createCallerFactory(stack.uploads.router), viewer), files: callerAs(createCallerFactory(stack.files.router), viewer) };
  }
  return { stack, person };
}
