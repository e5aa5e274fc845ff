/**
 * The scrape-time database gauge: one read per ttl however often scraped, concurrent scrapes
 * sharing the read in flight, a slow read not holding the scrape (last value served), a failed
 * read keeping the last value and not asked again before the ttl.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { cachedGauge, type GaugeReading } from './cached-gauge.ts';

function harness(read: () => Promise<GaugeReading<'status'>[]>, timeoutMs = 50) {
  const clock = { ms: 0 };
  const registry = new Registry();
  let reads = 0;
  cachedGauge<'status'>({
    registry, name: 'test_sessions', help: 'test', labelNames: ['status'], ttlMs: 15_000, timeoutMs, now: () => clock.ms,
    read: () => {
      reads++;
      return read();
    },
  });
  const scrape = async () => {
    const json = (await registry.getMetricsAsJSON())[0];
    return Object.fromEntries((json?.values ?? []).map((v) => [String(v.labels.status), v.value]));
  };
  return { clock, scrape, reads: () => reads };
}

describe('cachedGauge', () => {
  it('reads once per ttl, however often scraped, and concurrent scrapes share one read', async () => {
    let value = 1;
    const h = harness(async () => [{ labels: { status: 'UPLOADING' }, value }]);
    const answers = await Promise.all([h.scrape(), h.scrape(), h.scrape()]);
    expect(answers).toEqual([{ UPLOADING: 1 }, { UPLOADING: 1 }, { UPLOADING: 1 }]);
    value = 2;
    h.clock.ms = 14_999;
    expect(await h.scrape()).toEqual({ UPLOADING: 1 });
    expect(h.reads()).toBe(1);
    h.clock.ms = 15_000;
    expect(await h.scrape()).toEqual({ UPLOADING: 2 });
    expect(h.reads()).toBe(2);
  });

  it('serves the last value when a read is slower than the timeout, and keeps the late answer', async () => {
    let release: (() => void) | undefined;
    let value = 5;
    const h = harness(() => new Promise((resolve) => (release = () => resolve([{ labels: { status: 'PENDING' }, value }]))), 20);
    const first = h.scrape();
    release?.();
    expect(await first).toEqual({ PENDING: 5 });
    value = 6;
    h.clock.ms = 20_000;
    // The read hangs: the scrape answers after the timeout with the last value.
    expect(await h.scrape()).toEqual({ PENDING: 5 });
    release?.();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await h.scrape()).toEqual({ PENDING: 6 });
    expect(h.reads()).toBe(2);
  });

  it('keeps the last value when a read fails, and waits the ttl before asking again', async () => {
    let fail = false;
    const h = harness(async () => {
      if (fail) throw new Error('database down');
      return [{ labels: { status: 'COMPLETED' }, value: 3 }];
    });
    expect(await h.scrape()).toEqual({ COMPLETED: 3 });
    fail = true;
    h.clock.ms = 15_000;
    expect(await h.scrape()).toEqual({ COMPLETED: 3 });
    expect(await h.scrape()).toEqual({ COMPLETED: 3 });
    expect(h.reads()).toBe(2);
  });
});
