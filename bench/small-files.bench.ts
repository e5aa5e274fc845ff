/**
 * Small files: the cdperf mix (bench/lib/file-mix.ts, ≥ 2 000 files, ≥ 1 GiB) uploaded three ways
 * at the same concurrency (4 files in flight, the CLI's default --parallel), over the same files:
 * - Stratus: the CLI's library with its default settings, as `stratus upload FILE...` sends many
 *   files (`sendFiles`: files up to 1 MiB together, up to 32 per uploadFiles request; a larger file
 *   of at most 32 MiB in one uploadFile request, else a session with 4 chunks in flight), 4
 *   requests in flight;
 * - the limit: straight to RGW with the same choice, `PutObject` for a file of at most 32 MiB
 *   (ONE_REQUEST_MAX), @aws-sdk/lib-storage multipart (8 MiB parts, 4 in flight) above;
 * - the peer: tus-js-client (its defaults: one PATCH per file) into @tus/server + @tus/s3-store.
 * Paired: the mix is cut into BENCH_REPS slices (every slice holds the mix, the list is shuffled)
 * and each slice is uploaded by the three back to back, so a ratio compares the same files under
 * the same load; the figure is the median of the per-slice ratios, files/s and MiB/s over the
 * whole mix. Everything written is deleted and garbage-collected after each system's turn.
 * Then, on the in-process app, SQL statements and Redis commands per small file (100 KB), for the
 * way the CLI takes and for an upload session (the way before).
 */
import { createReadStream } from 'node:fs';
import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload as S3Upload } from '@aws-sdk/lib-storage';
import { Upload as TusUpload } from 'tus-js-client';
import { ONE_REQUEST_MAX, sendFile } from '../cli/lib/upload-small.ts';
import { sendFiles } from '../cli/lib/upload-batch.ts';
import { uploadFile } from '../cli/lib/upload.ts';
import { testEnv } from '../test/support/env.ts';
import { BUCKETS, writeMix, type MixFile } from './lib/file-mix.ts';
import type { Row } from './lib/report.ts';
import { measureCpu } from './lib/cpu.ts';
import { countServerCalls, type CallCounts } from './lib/server-calls.ts';
import { describeDisk, directS3, log, rgwGc } from './lib/stack.ts';
import { median, MiB, pool, round } from './lib/stats.ts';
import type { Target, User } from './lib/target.ts';
import { startTusServer, type TusServer } from './tus-server.ts';

const IN_FLIGHT = 4;
const PART = 8 * MiB;
const SYSTEMS = ['stratus', 'direct', 'tus'] as const;
type System = (typeof SYSTEMS)[number];

export interface SmallFilesOptions {
  target: Target;
  /** An in-process app for counting statements (the target itself when it is one). */
  counting: Target;
  files: number;
  reps: number;
}

type S3 = ReturnType<typeof directS3>;
/** One system's turn at a slice: how long the uploads took, and what removes what they wrote. */
interface Turn {
  ms: number;
  cleanup(): Promise<void>;
}

async function deleteKeys(s3: S3, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    await s3.client.send(new DeleteObjectsCommand({ Bucket: s3.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
  }
}

async function stratusSlice(user: User, files: MixFile[], rep: number): Promise<Turn> {
  const folder = (await user.api.gql<{ createFolder: { id: string } }>('mutation($n: String!) { createFolder(parentId: null, name: $n) { id } }', { n: `small-${rep}-${Date.now()}` })).createFolder.id;
  const started = performance.now();
  const outcomes = await sendFiles(user.api, files.map((f) => ({ path: f.path, name: f.name, size: f.size })), { parentId: folder, parallel: IN_FLIGHT });
  for (const [i, o] of outcomes.entries()) {
    const f = files[i] as MixFile;
    if (o.error) throw new Error(`Stratus did not store ${f.name}: ${o.error.message}`);
    if (o.file.size !== f.size) throw new Error(`Stratus stored ${f.name} with ${o.file.size} bytes`);
  }
  return { ms: performance.now() - started, cleanup: async () => {
    await user.api.gql('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: folder });
    await user.api.gql('mutation($id: ID!) { purgeFile(id: $id) }', { id: folder });
  } };
}

async function directSlice(s3: S3, files: MixFile[], rep: number): Promise<Turn> {
  const prefix = `bench/small-${rep}-${Date.now()}/`;
  const started = performance.now();
  await pool(files, IN_FLIGHT, async (f) => {
    const params = { Bucket: s3.bucket, Key: prefix + f.name, Body: createReadStream(f.path) };
    if (f.size <= ONE_REQUEST_MAX) await s3.client.send(new PutObjectCommand({ ...params, ContentLength: f.size }));
    else await new S3Upload({ client: s3.client, params, partSize: PART, queueSize: IN_FLIGHT }).done();
  });
  return { ms: performance.now() - started, cleanup: () => deleteKeys(s3, files.map((f) => prefix + f.name)) };
}

async function tusSlice(s3: S3, tus: TusServer, files: MixFile[]): Promise<Turn> {
  const keys: string[] = [];
  const started = performance.now();
  await pool(files, IN_FLIGHT, async (f) => {
    const url = await new Promise<string>((resolve, reject) => {
      const upload = new TusUpload(createReadStream(f.path), {
        endpoint: tus.endpoint, uploadSize: f.size, metadata: { filename: f.name }, storeFingerprintForResuming: false, retryDelays: [],
        onError: reject,
        onSuccess: () => (upload.url ? resolve(upload.url) : reject(new Error('tus upload has no URL'))),
      });
      upload.start();
    });
    keys.push(...tus.keysOf(url));
  });
  return { ms: performance.now() - started, cleanup: () => deleteKeys(s3, keys) };
}

export async function benchSmallFiles({ target, counting, files, reps }: SmallFilesOptions): Promise<Row[]> {
  const seed = `bench-small-${Date.now()}`;
  const mix = await writeMix(files, seed);
  log(`small files: ${mix.files.length} files, ${round(mix.bytes / MiB)} MiB (${BUCKETS.map((b, i) => `${mix.files.filter((f) => f.bucket === i).length} ${b.label}`).join(', ')}); ${await describeDisk()}`);
  const s3 = directS3();
  const tus = await startTusServer();
  const user = await target.signUp();
  const ms: Record<System, number[]> = { stratus: [], direct: [], tus: [] };
  // CPU seconds of the Stratus server over its turns (the bench process too when in process).
  let stratusCpu = 0;
  const slices = Array.from({ length: reps }, (_, rep) => mix.files.filter((_, i) => i % reps === rep));
  try {
    for (const [rep, slice] of slices.entries()) {
      for (const system of SYSTEMS) {
        const cpu = system === 'stratus' ? measureCpu(target.pid) : null;
        const turn = system === 'stratus' ? await stratusSlice(user, slice, rep) : system === 'direct' ? await directSlice(s3, slice, rep) : await tusSlice(s3, tus, slice);
        ms[system].push(turn.ms);
        if (cpu) stratusCpu += cpu.stop();
        await turn.cleanup();
        await rgwGc();
      }
      const fps = (system: System) => round(slice.length / ((ms[system].at(-1) ?? 0) / 1000));
      log(`small files slice ${rep + 1}/${reps} (${slice.length} files): stratus ${fps('stratus')}, direct ${fps('direct')}, tus ${fps('tus')} files/s`);
    }
  } finally {
    await tus.close();
    s3.client.destroy();
    mix.remove();
  }
  const calls = await perFileCalls(counting);
  const serverCpu = `server CPU ${round((stratusCpu * 1000) / mix.files.length, 1)} ms/file over the mix${target.pid === process.pid ? ' (in process: with the CLI client)' : ''}`;
  return rowsOf(mix.files.length, mix.bytes, slices.map((s) => s.length), ms, { ...calls, serverCpu });
}

/** SQL statements and Redis commands per small file, each way, files sent one at a time. */
async function perFileCalls(counting: Target): Promise<{ request: CallCounts; session: CallCounts; n: number; requestCpuMs: number }> {
  const t = counting.app;
  if (!t) throw new Error('counting needs an in-process app');
  const mix = await writeMix(30, `bench-small-count-${Date.now()}`);
  const smallOnes = mix.files.filter((f) => f.bucket === 0).slice(0, 20);
  try {
    const user = await counting.signUp();
    // Warm-up: the first request of a person pays for lazy set-up (quota row, caches).
    await sendFile(user.api, smallOnes[0]?.path ?? '', { name: 'warm-up' });
    let requestCpuMs = 0;
    const request = await countServerCalls(t, testEnv.redisUrl, async () => {
      const cpu = measureCpu();
      for (const f of smallOnes) await sendFile(user.api, f.path, { name: `r-${f.name}` });
      requestCpuMs = (cpu.stop() * 1000) / smallOnes.length;
    });
    const session = await countServerCalls(t, testEnv.redisUrl, async () => {
      // The same content again: without noInstant the session would be an instant upload (a proof).
      for (const f of smallOnes) await uploadFile(user.api, f.path, { name: `s-${f.name}`, noInstant: true });
    });
    return { request, session, n: smallOnes.length, requestCpuMs };
  } finally {
    mix.remove();
  }
}

function rowsOf(files: number, bytes: number, sliceFiles: number[], ms: Record<System, number[]>, calls: Awaited<ReturnType<typeof perFileCalls>> & { serverCpu: string }): Row[] {
  const total = (s: System) => ms[s].reduce((a, b) => a + b, 0) / 1000;
  const fps = (s: System) => round(files / total(s), 1);
  const mibs = (s: System) => round(bytes / MiB / total(s), 1);
  const perSlice = (s: System) => ms[s].map((m, i) => round((sliceFiles[i] ?? 0) / (m / 1000), 1));
  const paired = (other: System) => ms.stratus.map((m, i) => (ms[other][i] ?? Number.NaN) / m);
  const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  const per = (c: CallCounts, n: number) => `${round(c.sql / n, 1)} SQL statements, ${round(c.redis / n, 1)} Redis commands`;
  const perFile = `per small file (100 KB-class, one at a time): ${per(calls.request, calls.n)} (an upload session: ${per(calls.session, calls.n)})`;
  const label = `upload cdperf mix (${files} files, ${round(bytes / MiB / 1024, 2)} GiB), ${IN_FLIGHT} in flight`;
  const vsDirect = round(median(paired('direct')), 2);
  const vsTus = round(median(paired('tus')), 2);
  return [
    {
      id: 'small.stratus', label: `${label}, Stratus CLI`, value: fps('stratus'), unit: 'files/s', samples: perSlice('stratus'),
      reference: { label: 'direct RGW', value: fps('direct') }, ratio: vsDirect, target: '≥0.8× direct', met: vsDirect >= 0.8,
      note: `${mibs('stratus')} MiB/s; median of ${ms.stratus.length} paired slices (${list(paired('direct'))}); ${calls.serverCpu}; ${perFile}`,
    },
    {
      id: 'small.vs-tus', label: `${label}, Stratus CLI vs @tus/server`, value: fps('stratus'), unit: 'files/s',
      reference: { label: '@tus/server', value: fps('tus') }, ratio: vsTus, target: '≥2× tus', met: vsTus >= 2,
      note: `tus ${mibs('tus')} MiB/s; median of ${ms.stratus.length} paired slices (${list(paired('tus'))})`,
    },
    { id: 'small.direct', label: `${label}, direct RGW`, value: fps('direct'), unit: 'files/s', samples: perSlice('direct'), note: `${mibs('direct')} MiB/s; PutObject ≤ 32 MiB (the CLI's one-request bound), lib-storage above: the limit` },
    { id: 'small.tus', label: `${label}, @tus/server`, value: fps('tus'), unit: 'files/s', samples: perSlice('tus'), note: `${mibs('tus')} MiB/s; tus-js-client defaults (one PATCH per file)` },
    {
      id: 'small.calls', label: 'server calls per small file, Stratus CLI', value: round(calls.request.sql / calls.n, 1), unit: 'SQL/file',
      note: `${round(calls.request.redis / calls.n, 1)} Redis commands/file (${Object.entries(calls.request.redisByName).map(([k, v]) => `${k} ${v}`).join(', ')} over ${calls.n}); CPU ${round(calls.requestCpuMs, 1)} ms/file of the in-process app with its CLI client; upload session: ${per(calls.session, calls.n)}`,
    },
  ];
}
