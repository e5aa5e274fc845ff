/**
 * What a server does per request, counted on the in-process app: SQL statements from its
 * statement log (MikroORM's onQuery hook, `t.queries`) and Redis commands from Redis MONITOR,
 * keeping only the commands sent over this process's own connections (their local ports, from
 * `ss`), so other processes using the same Redis (tests, other servers) are not counted.
 * MONITOR also shows the commands a Lua script runs (source `lua`): those are not counted, the
 * EVAL/EVALSHA that ran them is.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { TestApp } from '../../test/support/app.ts';

const run = promisify(execFile);

/** Local ports of this process's TCP connections to the Redis port. */
async function ownRedisPorts(redisPort: number): Promise<Set<string>> {
  const { stdout } = await run('ss', ['-tnpH', 'state', 'established', `( dport = :${redisPort} )`]);
  const ports = new Set<string>();
  for (const line of stdout.split('\n')) {
    if (!line.includes(`pid=${process.pid},`)) continue;
    const local = line.trim().split(/\s+/)[2];
    if (local) ports.add(local.slice(local.lastIndexOf(':') + 1));
  }
  return ports;
}

export interface CallCounts {
  sql: number;
  redis: number;
  /** Redis commands by name, over the whole window. */
  redisByName: Record<string, number>;
  sqlSamples: string[];
}

/** Runs `fn` and counts the app's SQL statements and Redis commands while it runs. */
export async function countServerCalls(t: TestApp, redisUrl: string, fn: () => Promise<void>): Promise<CallCounts> {
  const monitorClient = new Redis(redisUrl, { lazyConnect: true });
  await monitorClient.connect();
  const seen: { source: string; name: string }[] = [];
  const monitor = await monitorClient.monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ source, name: String(args[0] ?? '').toLowerCase() }));
  // MONITOR is live once its OK came back; a short pause lets the previous work's commands pass.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const before = t.queries.length;
  try {
    await fn();
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    monitor.disconnect();
    monitorClient.disconnect();
  }
  const sqlSamples = t.queries.slice(before);
  const ports = await ownRedisPorts(Number(new URL(redisUrl).port || 6379));
  const mine = seen.filter((s) => s.source !== 'lua' && ports.has(s.source.slice(s.source.lastIndexOf(':') + 1)));
  const redisByName: Record<string, number> = {};
  for (const s of mine) redisByName[s.name] = (redisByName[s.name] ?? 0) + 1;
  return { sql: sqlSamples.length, redis: mine.length, redisByName, sqlSamples };
}
