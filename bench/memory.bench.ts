/**
 * 3. Peak resident memory of the server during 8 concurrent 1 GiB uploads. The server is a fresh
 *    child process (`api/main.ts`, as in production), so its RSS is its own and its VmHWM (the
 *    kernel's exact peak) covers only this step; VmRSS is also sampled every 100 ms. The 8
 *    uploads use the CLI client with its default of 4 chunks in flight: 32 chunk requests at once.
 *    Measured twice, each time on a fresh server: with the heap ceiling the chart gives the
 *    uploads role (the target row), and with V8's default heap sizing (for comparison).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { uploadFile } from '../cli/lib/upload.ts';
import type { Row } from './lib/report.ts';
import { cephFreeGiB, log, rgwGc } from './lib/stack.ts';
import { GiB, mibPerSecond, round } from './lib/stats.ts';
import { removeFile } from './lib/stratus.ts';
import { childProcessTarget } from './lib/target.ts';
import { testEnv } from '../test/support/env.ts';

export interface MemoryBenchOptions {
  file: string;
  size: number;
  uploads: number;
  parallel: number;
}

/**
 * The uploads role's V8 heap ceiling as the Helm chart deploys it (`uploads.heapMiB`): the
 * server is measured as it runs in its pod. Without a ceiling V8 sizes the heap from the host's
 * memory (24 GiB here) and lets garbage grow to 4× the live set before a full collection, which
 * the step also reports, for comparison, as a second row.
 */
function chartHeapMiB(root: string): number {
  const values = yaml.load(readFileSync(path.join(root, 'charts/stratus/values.yaml'), 'utf8')) as { uploads?: { heapMiB?: unknown } };
  const heap = values.uploads?.heapMiB;
  if (typeof heap !== 'number') throw new Error('charts/stratus/values.yaml has no uploads.heapMiB');
  return heap;
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export function residentMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

export async function benchMemory(options: MemoryBenchOptions): Promise<Row[]> {
  const heapMiB = chartHeapMiB(testEnv.root);
  const deployed = await peakOnce(options, heapMiB);
  const unbounded = await peakOnce(options, null);
  return [
    { id: 'memory.server.peak', label: `server peak RSS, ${options.uploads} concurrent uploads`, ...deployed, target: '< 300 MiB', met: deployed.value < 300 },
    { id: 'memory.server.peak.v8default', label: `server peak RSS, ${options.uploads} concurrent uploads, V8 default heap`, ...unbounded },
  ];
}

/** One fresh server, `uploads` concurrent uploads, its peak RSS (VmHWM) with the heap ceiling given. */
async function peakOnce({ file, size, uploads, parallel }: MemoryBenchOptions, heapMiB: number | null): Promise<Pick<Row, 'value' | 'unit' | 'note'>> {
  // 8 GiB of parts in flight nearly fill the test cluster's 10 GiB OSD, and a full OSD hangs
  // every RGW write (for everyone on this machine): refuse rather than fill it.
  const writable = await cephFreeGiB();
  if (writable < (uploads * size) / GiB + 0.5) throw new Error(`memory step needs ${(uploads * size) / GiB + 0.5} GiB writable in Ceph, has ${writable.toFixed(1)}`);
  const heap = heapMiB === null ? 'V8 default heap (sized from the host)' : `--max-old-space-size=${heapMiB} (the chart's uploads.heapMiB)`;
  const target = await childProcessTarget({ DEFAULT_QUOTA_BYTES: String(uploads * size + GiB), ...(heapMiB === null ? {} : { NODE_OPTIONS: `--max-old-space-size=${heapMiB}` }) });
  try {
    const { api } = await target.signUp();
    const idle = residentMiB(target.pid);
    let maxRss = idle.rss;
    // Where the memory is at the sampled peak: the V8 heap, or buffers outside it (prom-client's
    // process metrics, read from the server's /metrics twice a second).
    let split = { heapTotal: Number.NaN, heapUsed: Number.NaN, external: Number.NaN };
    let splitAtRss = 0;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, residentMiB(target.pid).rss);
    }, 100);
    const splitter = setInterval(() => {
      const rss = residentMiB(target.pid).rss;
      if (rss < splitAtRss) return;
      void heapSplit(target.url).then((s) => {
        if (s && rss >= splitAtRss) [split, splitAtRss] = [s, rss];
      });
    }, 500);
    const started = performance.now();
    let results;
    try {
      // The same bytes under 8 names: the server streams every chunk all the same (instant upload
      // is off); only the completions find the blob known and keep one copy.
      results = await Promise.all(Array.from({ length: uploads }, (_, i) => uploadFile(api, file, { name: `mem-${i}.bin`, parallel, noInstant: true })));
    } finally {
      clearInterval(sampler);
      clearInterval(splitter);
    }
    const ms = performance.now() - started;
    const peak = residentMiB(target.pid);
    maxRss = Math.max(maxRss, peak.rss);
    for (const r of results) {
      if (r.session.status !== 'COMPLETED' || !r.session.file) throw new Error(`upload ${r.session.name} ended ${r.session.status}`);
    }
    const total = round(mibPerSecond(uploads * size, ms));
    const at = `at RSS ${round(splitAtRss)} MiB: V8 heap ${round(split.heapUsed)} used of ${round(split.heapTotal)}, external ${round(split.external)} MiB`;
    log(`memory, ${heap}: idle ${round(idle.rss)} MiB, VmHWM ${round(peak.hwm)} MiB, max sampled VmRSS ${round(maxRss)} MiB, ${total} MiB/s aggregate; ${at}`);
    for (const r of results) if (r.session.file) await removeFile(api, r.session.file.id);
    // The 7 duplicate completed objects and the removed file wait in RGW's GC queue: free them
    // before the next measurement writes another 8 GiB.
    await rgwGc();
    return {
      value: round(peak.hwm), unit: 'MiB',
      note: `VmHWM of a fresh server process, ${heap}; idle ${round(idle.rss)} MiB, max sampled VmRSS ${round(maxRss)} MiB; ${at}; ${uploads}×${parallel} chunks in flight, ${total} MiB/s total`,
    };
  } finally {
    await target.close();
  }
}

/** Heap and external memory of the server in MiB, from its Prometheus metrics (null when unreadable). */
async function heapSplit(url: string): Promise<{ heapTotal: number; heapUsed: number; external: number } | null> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / 1024 / 1024;
    return { heapTotal: value('nodejs_heap_size_total_bytes'), heapUsed: value('nodejs_heap_size_used_bytes'), external: value('nodejs_external_memory_bytes') };
  } catch {
    return null;
  }
}
