/**
 * The access log's sampling (ACCESS_LOG_RATE) with an injected clock, and its lines as the pino
 * logger writes them: the fields, nothing else.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../internal/platform/logger.ts';
import { AccessSampler, createAccessLog, type AccessEntry } from './access-log.ts';

const entry = (status = 200): AccessEntry => ({ requestId: 'r-1', method: 'GET', route: '/files/:id/content', status, bytes: 1234, ms: 5, aborted: false });

function captured(rate: number, clock: { ms: number }) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { lines, access: createAccessLog(log, { ratePerSecond: rate, now: () => clock.ms }) };
}

describe('AccessSampler', () => {
  it('logs every request while the load stays at or below the rate', () => {
    const clock = { ms: 0 };
    const sampler = new AccessSampler(10, () => clock.ms);
    for (let second = 0; second < 3; second++) {
      clock.ms = second * 1000;
      for (let i = 0; i < 10; i++) expect(sampler.take(200)).toBe(1);
    }
  });

  it('above the rate logs one request in ceil(load / rate), deterministically, and every 5xx', () => {
    const clock = { ms: 0 };
    const sampler = new AccessSampler(10, () => clock.ms);
    // Second 0: 100 requests. The first 10 are logged in full; past that the load grows and one
    // in ceil(load/10) is.
    const first = Array.from({ length: 100 }, () => sampler.take(200));
    expect(first.slice(0, 10)).toEqual(Array(10).fill(1));
    const logged0 = first.filter((n) => n > 0).length;
    expect(logged0).toBeGreaterThan(10);
    expect(logged0).toBeLessThan(40);
    // Second 1: the load is the previous second's 100: one in 10 is logged and stands for 10.
    clock.ms = 1000;
    const second = Array.from({ length: 100 }, () => sampler.take(200));
    expect(second.filter((n) => n > 0)).toEqual(Array(10).fill(10));
    // A 5xx is always logged, as itself.
    expect(Array.from({ length: 20 }, () => sampler.take(503))).toEqual(Array(20).fill(1));
    // A quiet second after a gap: the old load is forgotten.
    clock.ms = 5000;
    expect(sampler.take(200)).toBe(1);
  });

  it('rate 0 logs everything', () => {
    const sampler = new AccessSampler(0, () => 0);
    expect(Array.from({ length: 1000 }, () => sampler.take(200)).every((n) => n === 1)).toBe(true);
  });
});

describe('createAccessLog', () => {
  it('writes one info line "request" with the fields, `sampled` only when it stands for several', () => {
    const clock = { ms: 0 };
    const { lines, access } = captured(2, clock);
    access(entry());
    expect(lines[0]).toMatchObject({ level: 30, msg: 'request', requestId: 'r-1', method: 'GET', route: '/files/:id/content', status: 200, bytes: 1234, ms: 5 });
    expect(lines[0]).not.toHaveProperty('sampled');
    expect(lines[0]).not.toHaveProperty('aborted');
    access({ ...entry(), aborted: true });
    expect(lines[1]).toMatchObject({ aborted: true });
    clock.ms = 1000;
    for (let i = 0; i < 9; i++) access(entry());
    expect(lines.slice(2).length).toBeLessThan(9);
    expect(lines.at(-1)).toHaveProperty('sampled');
    access(entry(500));
    expect(lines.at(-1)).toMatchObject({ status: 500 });
    expect(lines.at(-1)).not.toHaveProperty('sampled');
  });

  it('writes nothing when the level is above info', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    createAccessLog(log, { ratePerSecond: 0 })(entry());
    expect(lines).toEqual([]);
  });
});
