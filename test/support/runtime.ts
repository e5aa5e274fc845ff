/** Builds a real Runtime for tests: MariaDB + Redis ("real") or SQLite + in-memory ("embedded"). */
import { allEntities } from '../../internal/entities.ts';
import { loadConfig } from '../../internal/platform/config.ts';
import type { OrmHooks } from '../../internal/platform/db/orm.ts';
import { createLogger } from '../../internal/platform/logger.ts';
import { createRuntime, type Runtime } from '../../internal/platform/runtime.ts';
import { createMysqlDatabase, createSqliteDatabase, tempDir, type TestDatabase } from './db.ts';
import { redisEnv, ROOMY_CLIENT_LIMITS } from './env.ts';

export type Stack = 'real' | 'embedded';

/**
 * The stacks a `describe.each(STACKS)` file runs on. STRATUS_TEST_TIER splits such a file between
 * the two tiers of scripts/test.sh so each case runs once: `fast` (vitest.fast.config.ts, no
 * services) takes the embedded stack, `services` (the main run) the real one; unset runs both.
 */
export const STACKS: Stack[] = stacksOfTier(process.env.STRATUS_TEST_TIER);

function stacksOfTier(tier: string | undefined): Stack[] {
  if (tier === 'fast') return ['embedded'];
  if (tier === 'services') return ['real'];
  if (tier === undefined || tier === '') return ['real', 'embedded'];
  throw new Error(`STRATUS_TEST_TIER must be fast, services or unset, not ${tier}`);
}
export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-0123456789';

export interface TestRuntime {
  runtime: Runtime;
  db: TestDatabase;
  close(): Promise<void>;
}

export async function createTestRuntime(stack: Stack, env: Record<string, string> = {}, hooks: OrmHooks = {}): Promise<TestRuntime> {
  const db = stack === 'real' ? await createMysqlDatabase() : createSqliteDatabase();
  const config = loadConfig({
    DATA_DIR: tempDir(),
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    ...ROOMY_CLIENT_LIMITS,
    ...(db.url ? { DATABASE_URL: db.url } : {}),
    ...(stack === 'real' ? redisEnv() : {}),
    ...env,
  });
  if (db.options.kind === 'sqlite') config.database = db.options;
  const runtime = await createRuntime(config, allEntities, createLogger({ level: 'silent' }), hooks);
  return {
    runtime,
    db,
    close: async () => {
      await runtime.close();
      await db.drop();
    },
  };
}
