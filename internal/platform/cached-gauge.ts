/**
 * A gauge read from the database when Prometheus scrapes, at most once per `ttlMs`: every scrape in
 * between is served from the last answer, and concurrent scrapes share one read in flight. A read
 * slower than `timeoutMs` does not hold the scrape: the scrape gets the last answer (none the very
 * first time) and the read's result is kept when it lands. So however often /metrics is scraped,
 * the database sees one statement per gauge per `ttlMs`, and a scrape never waits longer than
 * `timeoutMs` for it.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger.ts';

export interface GaugeReading<L extends string> {
  labels: Partial<Record<L, string>>;
  value: number;
}

export interface CachedGaugeOptions<L extends string> {
  registry: Registry;
  name: string;
  help: string;
  labelNames?: readonly L[];
  ttlMs: number;
  /** Default 2 s. */
  timeoutMs?: number;
  read: () => Promise<GaugeReading<L>[]>;
  log?: Logger;
  now?: () => number;
}

export function cachedGauge<L extends string>(o: CachedGaugeOptions<L>): Gauge<L> {
  const now = o.now ?? Date.now;
  let last: GaugeReading<L>[] | null = null;
  let readAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | null = null;
  const refresh = (): Promise<void> => {
    inFlight ??= o
      .read()
      .then(
        (readings) => {
          last = readings;
          readAt = now();
        },
        (error: unknown) => {
          // Tried: the next read waits its ttl too, so a failing database is not asked every scrape.
          readAt = now();
          o.log?.warn({ err: error, metric: o.name }, 'metric read failed; serving the last value');
        },
      )
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
  // A second service instance on the same runtime (tests) replaces the first one's gauge.
  o.registry.removeSingleMetric(o.name);
  return new Gauge<L>({
    name: o.name,
    help: o.help,
    labelNames: o.labelNames ?? [],
    registers: [o.registry],
    async collect() {
      if (now() - readAt >= o.ttlMs) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, o.timeoutMs ?? 2000);
        });
        await Promise.race([refresh(), timeout]);
        clearTimeout(timer);
      }
      this.reset();
      for (const reading of last ?? []) this.set(reading.labels, reading.value);
    },
  });
}
