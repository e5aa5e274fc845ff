/**
 * Liveness (/healthz: the process answers) and readiness (/readyz: every dependency answers; checks
 * with `info` add their state under `info`, e.g. the read replicas in rotation and their lag).
 */
import express, { type Router } from 'express';
import type { ReadinessCheck } from '../../internal/platform/runtime.ts';

const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: () => Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return `failed: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
  }
}

export function healthRouter(checks: Map<string, ReadinessCheck>, isShuttingDown: () => boolean = () => false): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const entries = await Promise.all([...checks].map(async ([name, check]) => [name, await runCheck(check)] as const));
    const results = Object.fromEntries(entries);
    const ready = !isShuttingDown() && entries.every(([, status]) => status === 'ok');
    const info = Object.fromEntries([...checks].flatMap(([name, check]) => (check.info ? [[name, check.info()] as const] : [])));
    res.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'unavailable', checks: results, ...(Object.keys(info).length ? { info } : {}) });
  });
  return router;
}
