/** Read routing rules without a server: replica verdicts, statement kinds, per-request choice, the monitor. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from '../kv/memory.kv.ts';
import { runWithContext } from '../request-context.ts';
import { ReadRouting, isConnectionError, isWriteStatement, judgeReplica, type SlaveStatus } from './read-routing.ts';

const running = (behind: number | null, extra: SlaveStatus = {}): SlaveStatus => ({
  Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes', Seconds_Behind_Master: behind, Last_SQL_Errno: 0, Last_IO_Errno: 0, ...extra,
});
const stopped: SlaveStatus = { Slave_IO_Running: 'No', Slave_SQL_Running: 'No', Seconds_Behind_Master: null, Last_SQL_Errno: 0, Last_IO_Errno: 0 };
const viewer = { userId: 'u1', username: 'ann', isAdmin: false };

describe('judgeReplica', () => {
  it('keeps a replica within the lag bound and remembers when it was', () => {
    expect(judgeReplica(running(0), undefined, 1000, 5)).toEqual({ inRotation: true, lagSeconds: 0, caughtUp: { at: 1000, lagSeconds: 0 } });
    expect(judgeReplica(running(5), undefined, 1000, 5).inRotation).toBe(true);
  });

  it('takes out a replica lagging beyond the bound, one with a replication error, or one that is not a replica', () => {
    expect(judgeReplica(running(6), undefined, 0, 5)).toMatchObject({ inRotation: false, lagSeconds: 6, reason: expect.stringMatching(/lagging 6 s/) });
    const broken = { ...stopped, Slave_SQL_Running: 'No', Last_SQL_Errno: 1062, Last_SQL_Error: 'Duplicate entry' };
    expect(judgeReplica(broken, { at: 0, lagSeconds: 0 }, 10, 5)).toMatchObject({ inRotation: false, reason: expect.stringMatching(/1062: Duplicate/) });
    expect(judgeReplica(undefined, undefined, 0, 5)).toMatchObject({ inRotation: false, reason: expect.stringMatching(/not a replica/) });
  });

  it('lets a stopped replica serve only while it cannot be staler than the bound', () => {
    const seen = { at: 10_000, lagSeconds: 1 };
    expect(judgeReplica(stopped, seen, 13_000, 5)).toMatchObject({ inRotation: true, lagSeconds: 4 });
    expect(judgeReplica(stopped, seen, 15_500, 5)).toMatchObject({ inRotation: false, lagSeconds: 6.5, reason: expect.stringMatching(/not running.*too long/) });
    expect(judgeReplica(stopped, undefined, 0, 5)).toMatchObject({ inRotation: false, lagSeconds: null });
  });
});

describe('statement and error kinds', () => {
  it('tells writes from reads', () => {
    for (const sql of ['insert into files values (1)', '  UPDATE quotas set x = 1', '/* c */ delete from t', 'replace into t values (1)', 'create table t (a int)', 'truncate t']) {
      expect(isWriteStatement(sql), sql).toBe(true);
    }
    for (const sql of ['select 1', 'select * from updates', 'show slave status', 'with x as (select 1) select * from x']) expect(isWriteStatement(sql), sql).toBe(false);
    expect(isWriteStatement('select 1', 'run')).toBe(true);
  });

  it('retries only connection failures', () => {
    expect(isConnectionError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('dup'), { code: 'ER_DUP_ENTRY' }))).toBe(false);
    expect(isConnectionError('ECONNREFUSED')).toBe(false);
  });
});

describe('ReadRouting', () => {
  async function started(status: () => SlaveStatus | undefined, readYourWritesMs = 5000) {
    const routing = new ReadRouting(['replica-0']);
    const kv = new MemoryKeyValueStore();
    const registry = new Registry();
    await routing.start([{ name: 'replica-0', slaveStatus: async () => status() }], {
      kv, registry, options: { maxLagSeconds: 5, checkIntervalMs: 20, readYourWritesMs },
    });
    return { routing, kv, registry };
  }
  const pickIn = (routing: ReadRouting) => routing.pick(['replica-0'], (r) => r);

  it('picks a replica in rotation until the request writes; the person reads from the primary for the window', async () => {
    const { routing, kv } = await started(() => running(0));
    try {
      await runWithContext({ requestId: 'r1', viewer }, async () => {
        expect(pickIn(routing)).toBe('replica-0');
        expect(await routing.mustReadPrimary()).toBe(false);
        await routing.noteWrite();
        expect(pickIn(routing)).toBeUndefined();
        expect(await routing.mustReadPrimary()).toBe(true);
      });
      expect(await kv.ttl('rw:u1')).toBeGreaterThan(4000);
      await runWithContext({ requestId: 'r2', viewer }, async () => {
        expect(pickIn(routing)).toBe('replica-0'); // not known yet: the first read looks the marker up
        expect(await routing.mustReadPrimary()).toBe(true);
        expect(pickIn(routing)).toBeUndefined();
      });
      await runWithContext({ requestId: 'r3', viewer: { ...viewer, userId: 'u2' } }, async () => {
        expect(await routing.mustReadPrimary()).toBe(false);
      });
      await kv.del('rw:u1');
      await runWithContext({ requestId: 'r4', viewer }, async () => expect(await routing.mustReadPrimary()).toBe(false));
    } finally {
      routing.stop();
    }
  });

  it('takes a replica out when it lags or fails and puts it back when healthy, with metrics', async () => {
    let status: SlaveStatus | Error = running(0);
    const { routing, registry } = await started(() => {
      if (status instanceof Error) throw status;
      return status;
    });
    const until = async (want: boolean) => {
      for (let i = 0; i < 100 && routing.inRotation().includes('replica-0') !== want; i++) await new Promise((r) => setTimeout(r, 10));
      expect(routing.inRotation().includes('replica-0')).toBe(want);
    };
    try {
      expect(routing.snapshot()).toMatchObject([{ name: 'replica-0', inRotation: true, lagSeconds: 0 }]);
      status = running(30);
      await until(false);
      expect(pickIn(routing)).toBeUndefined();
      expect(await registry.getSingleMetricAsString('stratus_db_replica_lag_seconds')).toContain('stratus_db_replica_lag_seconds{replica="replica-0"} 30');
      expect(await registry.getSingleMetricAsString('stratus_db_replica_up')).toContain('stratus_db_replica_up{replica="replica-0"} 0');
      status = running(1);
      await until(true);
      status = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      await until(false);
      expect(routing.snapshot()[0]?.reason).toMatch(/unreachable: connect ECONNREFUSED/);
      status = running(0);
      await until(true);
      routing.markDown('replica-0', new Error('Connection lost'));
      expect(routing.inRotation()).toEqual([]);
      await until(true);
      expect(await registry.getSingleMetricAsString('stratus_db_replica_up')).toContain('stratus_db_replica_up{replica="replica-0"} 1');
    } finally {
      routing.stop();
    }
  });

  it('keeps reads of a request that wrote on the primary even with no person (window 0: request only)', async () => {
    const { routing, kv } = await started(() => running(0), 0);
    try {
      await runWithContext({ requestId: 'r1', viewer }, async () => {
        await routing.noteWrite();
        expect(await routing.mustReadPrimary()).toBe(true);
      });
      expect(await kv.exists('rw:u1')).toBe(false);
      expect(runWithContext({ requestId: 'r2', wrote: true }, () => pickIn(routing))).toBeUndefined();
      expect(pickIn(routing)).toBe('replica-0'); // no request context: a replica
    } finally {
      routing.stop();
    }
  });
});
