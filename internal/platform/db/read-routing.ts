/**
 * Where a read goes when MySQL/MariaDB read replicas are configured (`DATABASE_REPLICA_URLS`).
 *
 * The rule, per SQL statement (applied by `RoutingMySqlDriver`, routing-driver.ts):
 * - writes, and everything inside a transaction, run on the primary (MikroORM's own rule);
 * - a read outside a transaction runs on a random replica that is in rotation, unless
 *   - the current request (or a service call chain carrying its context) already wrote
 *     (`RequestContext.wrote`, set here when the primary runs a write statement), or
 *   - the signed-in person wrote within the read-your-writes window: a request that writes sets
 *     `rw:<userId>` in the key-value store with that TTL; the first read of each later request of
 *     the same person looks it up (once per request) and, when present, reads from the primary;
 * - no replica in rotation: the primary.
 *
 * Rotation: `ReplicaMonitor` polls `SHOW SLAVE STATUS` on each replica's own connection. A
 * replica is out when it does not answer, reports a replication error, lags more than the bound
 * (Seconds_Behind_Master), or is stopped (STOP SLAVE) for longer than the bound since it was last
 * seen within it (a stopped replica's staleness grows with the wall clock). It is back in on the
 * first poll that finds it within the bound. A read that fails for a connection reason takes the
 * replica out at once and is retried on the primary (reads are idempotent).
 */
import { Gauge, type Registry } from 'prom-client';
import type { KeyValueStore } from '../kv/kv.ts';
import type { Logger } from '../logger.ts';
import { currentContext, type RequestContext } from '../request-context.ts';

export interface ReplicaState {
  name: string;
  /** In the read rotation. */
  inRotation: boolean;
  /** Seconds_Behind_Master, or the estimated staleness while replication is stopped; null when unknown. */
  lagSeconds: number | null;
  /** Why it is out of rotation (or what is odd about it). */
  reason?: string;
  checkedAt?: string;
}

export type SlaveStatus = Record<string, unknown>;

export interface ReplicaProbe {
  name: string;
  /** The replica's `SHOW SLAVE STATUS` row, undefined when it has none (not a replica). */
  slaveStatus(): Promise<SlaveStatus | undefined>;
}

export interface RoutingOptions {
  /** Out of rotation beyond this many seconds behind the primary. */
  maxLagSeconds: number;
  checkIntervalMs: number;
  /** Read-your-writes window of a person after a request of theirs wrote (0: within the request only). */
  readYourWritesMs: number;
}

/** One poll's verdict; `caughtUp` remembers the last moment the replica was measurably within the bound. */
export interface Verdict {
  inRotation: boolean;
  lagSeconds: number | null;
  reason?: string;
  caughtUp?: { at: number; lagSeconds: number };
}

const text = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

/** Judges a `SHOW SLAVE STATUS` row (pure, so it is unit-tested without a server). */
export function judgeReplica(
  row: SlaveStatus | undefined,
  previous: { at: number; lagSeconds: number } | undefined,
  now: number,
  maxLagSeconds: number,
): Verdict {
  if (!row) return { inRotation: false, lagSeconds: null, reason: 'not a replica (SHOW SLAVE STATUS is empty)' };
  const sqlError = Number(row.Last_SQL_Errno ?? 0);
  const ioError = Number(row.Last_IO_Errno ?? 0);
  if (sqlError) return { inRotation: false, lagSeconds: null, reason: `replication SQL error ${sqlError}: ${text(row.Last_SQL_Error)}` };
  const running = text(row.Slave_IO_Running) === 'Yes' && text(row.Slave_SQL_Running) === 'Yes';
  const behind = row.Seconds_Behind_Master;
  if (running && behind !== null && behind !== undefined && behind !== '') {
    const lagSeconds = Number(behind);
    if (lagSeconds > maxLagSeconds) return { inRotation: false, lagSeconds, reason: `lagging ${lagSeconds} s (bound ${maxLagSeconds} s)` };
    return { inRotation: true, lagSeconds, caughtUp: { at: now, lagSeconds } };
  }
  // Stopped (or the IO thread reconnecting): no Seconds_Behind_Master. What it holds is at most as
  // old as when it was last seen within the bound, plus the time since.
  const why = notRunning(row, ioError);
  if (!previous) return { inRotation: false, lagSeconds: null, reason: why };
  const lagSeconds = previous.lagSeconds + (now - previous.at) / 1000;
  const inRotation = lagSeconds <= maxLagSeconds;
  return { inRotation, lagSeconds, reason: inRotation ? `${why}; stale by at most ${lagSeconds.toFixed(1)} s` : `${why} for too long` };
}

const notRunning = (row: SlaveStatus, ioError: number): string =>
  ioError
    ? `replication IO error ${ioError}: ${text(row.Last_IO_Error)}`
    : `replication not running (IO ${text(row.Slave_IO_Running) || '?'}, SQL ${text(row.Slave_SQL_Running) || '?'})`;

/** Errors that say the server is unreachable (not that the query was wrong): retry on the primary. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { code?: unknown; fatal?: unknown };
  if (e.fatal === true || e.name === 'KnexTimeoutError') return true;
  return typeof e.code === 'string' && CONNECTION_ERROR_CODES.has(e.code);
}
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'ER_CONNECTION_KILLED',
]);

/** Statements that change data (or schema): the request reads its own writes from then on. */
const WRITE_STATEMENT = /^\s*(?:\/\*[\s\S]*?\*\/\s*)*\(?\s*(insert|update|delete|replace|create|alter|drop|truncate|rename|load|call|merge|upsert|grant|revoke)\b/i;
export function isWriteStatement(sql: string, method?: 'all' | 'get' | 'run'): boolean {
  return method === 'run' || WRITE_STATEMENT.test(sql);
}

const PROBE_TIMEOUT_MS = 2_000;

export class ReadRouting {
  private readonly states = new Map<string, ReplicaState>();
  private readonly caughtUp = new Map<string, { at: number; lagSeconds: number }>();
  private readonly markerLookups = new WeakMap<RequestContext, Promise<boolean>>();
  private readonly markerSetAt = new WeakMap<RequestContext, number>();
  private kv: KeyValueStore | undefined;
  private log: Logger | undefined;
  private options: RoutingOptions = { maxLagSeconds: 5, checkIntervalMs: 1000, readYourWritesMs: 5000 };
  private timer: NodeJS.Timeout | undefined;
  private probes: ReplicaProbe[] = [];
  private readonly inFlight = new Set<string>();
  private gauges: { up: Gauge; lag: Gauge } | undefined;

  constructor(replicaNames: string[]) {
    // Out until the first poll has seen them: a replica of unknown staleness serves nothing.
    for (const name of replicaNames) this.states.set(name, { name, inRotation: false, lagSeconds: null, reason: 'not checked yet' });
  }

  /** Replica names in rotation now. */
  inRotation(): string[] {
    return [...this.states.values()].filter((s) => s.inRotation).map((s) => s.name);
  }

  snapshot(): ReplicaState[] {
    return [...this.states.values()].map((s) => ({ ...s }));
  }

  /**
   * Synchronous choice for `getConnection('read')`: a random replica in rotation, or undefined
   * (use the primary) when the current request must read its writes or none is in rotation.
   */
  pick<T>(replicas: readonly T[], nameOf: (replica: T) => string): T | undefined {
    if (this.primaryForContext(currentContext())) return undefined;
    const healthy = replicas.filter((r) => this.states.get(nameOf(r))?.inRotation);
    return healthy[Math.floor(Math.random() * healthy.length)];
  }

  private primaryForContext(rc: RequestContext | undefined): boolean {
    return !!rc && (rc.wrote === true || rc.recentWriter === true);
  }

  /**
   * Before a replica runs a read: true when it must run on the primary instead. Looks the person's
   * read-your-writes marker up once per request (concurrent reads share the lookup).
   */
  async mustReadPrimary(): Promise<boolean> {
    const rc = currentContext();
    if (!rc) return false;
    if (this.primaryForContext(rc)) return true;
    const userId = rc.viewer?.userId;
    if (!userId || !this.kv || this.options.readYourWritesMs <= 0) return false;
    let lookup = this.markerLookups.get(rc);
    if (!lookup) {
      const kv = this.kv;
      lookup = kv.exists(markerKey(userId)).catch((error: unknown) => {
        // Without the marker we cannot tell: the primary is always right, only slower.
        this.log?.warn({ err: error }, 'read-your-writes marker lookup failed; reading from the primary');
        return true;
      });
      this.markerLookups.set(rc, lookup);
    }
    if (!(await lookup)) return false;
    rc.recentWriter = true;
    return true;
  }

  /** After the primary ran a write statement for the current request. */
  async noteWrite(): Promise<void> {
    const rc = currentContext();
    if (!rc) return;
    rc.wrote = true;
    const userId = rc.viewer?.userId;
    const window = this.options.readYourWritesMs;
    if (!userId || !this.kv || window <= 0) return;
    // One marker write per request and half-window: the TTL runs from (about) the last write.
    const now = Date.now();
    const last = this.markerSetAt.get(rc);
    if (last !== undefined && now - last < window / 2) return;
    this.markerSetAt.set(rc, now);
    await this.kv.set(markerKey(userId), String(now), { ttlMs: window }).catch((error: unknown) => {
      this.log?.warn({ err: error, userId }, 'could not set the read-your-writes marker');
    });
  }

  /** A read on this replica failed for a connection reason: out now; the monitor decides when it is back. */
  markDown(name: string, error: unknown): void {
    const reason = `query failed: ${error instanceof Error ? error.message : String(error)}`;
    this.update(name, { inRotation: false, lagSeconds: null, reason });
  }

  /** Starts polling (and awaits the first round, so a healthy replica serves reads from the start). */
  async start(
    probes: ReplicaProbe[],
    deps: { kv?: KeyValueStore; log?: Logger; registry?: Registry; options: RoutingOptions },
  ): Promise<void> {
    this.probes = probes;
    this.kv = deps.kv;
    this.log = deps.log;
    this.options = deps.options;
    if (deps.registry) {
      this.gauges = {
        up: new Gauge({ name: 'stratus_db_replica_up', help: '1 when the read replica is in the read rotation', labelNames: ['replica'], registers: [deps.registry] }),
        lag: new Gauge({ name: 'stratus_db_replica_lag_seconds', help: 'Replication lag of the read replica (NaN: unknown)', labelNames: ['replica'], registers: [deps.registry] }),
      };
      for (const state of this.states.values()) this.publish(state);
    }
    await this.pollAll();
    this.timer = setInterval(() => void this.pollAll(), this.options.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async pollAll(): Promise<void> {
    await Promise.all(this.probes.map((probe) => this.poll(probe)));
  }

  private async poll(probe: ReplicaProbe): Promise<void> {
    if (this.inFlight.has(probe.name)) return;
    this.inFlight.add(probe.name);
    let timer: NodeJS.Timeout | undefined;
    try {
      const row = await Promise.race([
        probe.slaveStatus(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
        }),
      ]);
      const verdict = judgeReplica(row, this.caughtUp.get(probe.name), Date.now(), this.options.maxLagSeconds);
      if (verdict.caughtUp) this.caughtUp.set(probe.name, verdict.caughtUp);
      this.update(probe.name, verdict);
    } catch (error) {
      this.update(probe.name, { inRotation: false, lagSeconds: null, reason: `unreachable: ${error instanceof Error ? error.message : String(error)}` });
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(probe.name);
    }
  }

  private update(name: string, verdict: Verdict): void {
    const before = this.states.get(name);
    if (!before) return;
    const state: ReplicaState = { name, inRotation: verdict.inRotation, lagSeconds: verdict.lagSeconds, checkedAt: new Date().toISOString() };
    if (verdict.reason) state.reason = verdict.reason;
    this.states.set(name, state);
    this.publish(state);
    if (before.inRotation && !state.inRotation) this.log?.warn({ replica: name, reason: state.reason }, 'read replica out of rotation');
    else if (!before.inRotation && state.inRotation) this.log?.info({ replica: name, lagSeconds: state.lagSeconds }, 'read replica in rotation');
  }

  private publish(state: ReplicaState): void {
    this.gauges?.up.set({ replica: state.name }, state.inRotation ? 1 : 0);
    this.gauges?.lag.set({ replica: state.name }, state.lagSeconds ?? Number.NaN);
  }
}

export const markerKey = (userId: string) => `rw:${userId}`;
