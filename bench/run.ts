/**
 * `npm run bench`: Stratus on the real stack (MariaDB, Redis, Ceph RGW from
 * `bash scripts/services.sh up`) against the physical limit (RGW directly) and against a peer
 * (@tus/server). Prints one table to stdout (progress goes to stderr) and writes the rows to
 * bench/results/<date>.json and (a run of every step, or BENCH_LATEST=1) bench/results/latest.json,
 * with the run's date and the machine's busy share over it (bench/lib/machine.ts);
 * `npm run bench:readme` then renders the README's table from latest.json.
 *
 * Settings (environment):
 *   BENCH_REPS=3          repetitions of each throughput measurement (medians are reported)
 *   BENCH_SIZE_MIB=1024   size of the big file
 *   BENCH_TUS_SIZE_MIB    the tus step's file (tus-js-client into /tus/ and @tus/server);
 *                         default the smaller of 512 and BENCH_SIZE_MIB (see config.tusSize)
 *   BENCH_ONLY=upload,download,memory,instant,metadata,webdav   a subset, in this order
 *   BENCH_INSTANT_RUNS=200, BENCH_FILES=10000, BENCH_CLIENTS=100, BENCH_CLIENT_SECONDS=15
 *   BENCH_SEARCH_FILES=100000   the search step's items of one person
 *   BENCH_SERVER=process  where the Stratus server of upload/download/instant/clients runs:
 *                         `process` (a child process, as deployed) or `inprocess` (startTestApp,
 *                         sharing this event loop with the client). The folder listing always
 *                         runs in process (it counts SQL statements); memory always in a fresh
 *                         child process (its RSS must be its own).
 *
 * Everything the run stores in RGW goes to S3 buckets of its own (`<TEST_S3_BUCKET>-run-<id>`,
 * test/support/run-buckets.ts, made before the first step), never to the shared test bucket; they
 * are removed with every object and open multipart upload when the run ends, passed or failed, or
 * is stopped by SIGINT or SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileContentHash } from '../cli/lib/hash.ts';
import { uploadFile } from '../cli/lib/upload.ts';
import { benchApiLoad } from './api-load.bench.ts';
import { benchDownloads } from './download.bench.ts';
import { benchInstant } from './instant.bench.ts';
import { benchMemory } from './memory.bench.ts';
import { benchMetadata } from './metadata.bench.ts';
import { benchSearch } from './search.bench.ts';
import { benchSmallFiles } from './small-files.bench.ts';
import { benchTus } from './tus.bench.ts';
import { benchUploads } from './upload.bench.ts';
import { benchWebdav } from './webdav.bench.ts';
import { measureMachine } from './lib/machine.ts';
import { printTable, writeResults, type Row } from './lib/report.ts';
import { describeDisk, log, rgwGc, tempFile } from './lib/stack.ts';
import { MiB } from './lib/stats.ts';
import { removeFile } from './lib/stratus.ts';
import { childProcessTarget, inProcessTarget, type Target } from './lib/target.ts';
import { testEnv } from '../test/support/env.ts';
import { runBucketsUntilExit } from '../test/support/run-buckets.ts';

const STEPS = ['upload', 'download', 'instant', 'memory', 'metadata', 'webdav', 'api', 'tus', 'small', 'search'] as const;
type Step = (typeof STEPS)[number];

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

const config = {
  reps: intEnv('BENCH_REPS', 3),
  size: intEnv('BENCH_SIZE_MIB', 1024) * MiB,
  instantRuns: intEnv('BENCH_INSTANT_RUNS', 200),
  files: intEnv('BENCH_FILES', 10_000),
  clients: intEnv('BENCH_CLIENTS', 100),
  clientSeconds: intEnv('BENCH_CLIENT_SECONDS', 15),
  // small: the cdperf mix, at least 2 000 files (1 680 under 1 MB … 16 above 100 MB, ~3.6 GiB).
  smallFiles: intEnv('BENCH_SMALL_FILES', 2_000),
  // search: one person's items on MariaDB (issue 22: 100 000).
  searchFiles: intEnv('BENCH_SEARCH_FILES', 100_000),
  // tus: 4 uploads a repetition (2 servers × 2 shapes, each then GC'd). At the 2026-11-29 rates
  // (@tus/server 78 MiB/s in one request, 30 MiB/s in 8 MiB PATCHes) 1 GiB needs ~110 s a
  // repetition, 5.5 min for 3: over the 6-minute budget at the first slowdown. 512 MiB halves it
  // and is still 64 parts of 8 MiB per upload, far beyond any buffer on either side.
  tusSize: intEnv('BENCH_TUS_SIZE_MIB', Math.min(512, intEnv('BENCH_SIZE_MIB', 1024))) * MiB,
  api: {
    clients: (process.env.BENCH_API_CLIENTS || '100,400').split(',').map(Number),
    seconds: intEnv('BENCH_API_SECONDS', 15),
    accounts: intEnv('BENCH_API_ACCOUNTS', 20),
    files: intEnv('BENCH_API_FILES', 300),
    thinkMs: intEnv('BENCH_API_THINK_MS', 1000),
    pacedSeconds: intEnv('BENCH_API_PACED_SECONDS', 20),
  },
  server: process.env.BENCH_SERVER === 'inprocess' ? ('inprocess' as const) : ('process' as const),
  steps: (process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((s) => s.trim()) : [...STEPS]) as Step[],
};
for (const step of config.steps) if (!STEPS.includes(step)) throw new Error(`BENCH_ONLY: unknown step ${step} (known: ${STEPS.join(', ')})`);
const wants = (step: Step) => config.steps.includes(step);

// Quota is not what is measured: room for every repetition and the instant-upload copies.
const SERVER_ENV = { DEFAULT_QUOTA_BYTES: String(1024 ** 5) };

/** The steps that share one big file, stored once in Stratus (the download step reads its object directly too). */
async function bigFileSteps(target: Target, rows: Row[]): Promise<void> {
  const fixture = await tempFile('fixture.bin', config.size, `bench-fixture-${Date.now()}`);
  try {
    const owner = await target.signUp();
    const stored = await uploadFile(owner.api, fixture.file, { name: 'fixture.bin', parallel: 4, noInstant: true });
    if (!stored.session.file) throw new Error('fixture upload did not complete');
    const fileId = stored.session.file.id;
    if (wants('download')) rows.push(...(await benchDownloads({ target, url: target.url, user: owner, fileId, size: config.size, reps: config.reps })));
    if (wants('instant')) {
      // The client's hash of the file, computed before any upload starts: not part of the timing.
      const contentHash = await fileContentHash(fixture.file, config.size);
      rows.push(...(await benchInstant({ target, file: fixture.file, size: config.size, contentHash, runs: config.instantRuns })));
    }
    // Instant uploads by other people still share the blob; dropping the database forgets them,
    // and the object itself goes with the last purge or with the run's bucket at the end.
    await removeFile(owner.api, fileId);
    await rgwGc();
    if (wants('memory')) rows.push(...(await benchMemory({ file: fixture.file, size: config.size, uploads: 8, parallel: 4 })));
  } finally {
    fixture.remove();
    await rgwGc();
    log(`big file removed; ${await describeDisk()}`);
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const machine = measureMachine();
  const rows: Row[] = [];
  let failure: unknown;
  log(`config ${JSON.stringify(config)}; ${await describeDisk()}; S3 buckets of this run ${testEnv.s3.bucket}, ${testEnv.s3.bucket2}`);
  // The webdav step runs Debian's rclone: installed here, before any step, as the test run installs
  // it (a fresh machine has none, and the step would fail 10 minutes into the run).
  if (wants('webdav')) execFileSync('bash', [path.join(testEnv.root, 'scripts/lib/dav-clients.sh')], { stdio: 'inherit' });
  const target = config.server === 'process' ? await childProcessTarget(SERVER_ENV) : await inProcessTarget(SERVER_ENV);
  let app: Target | undefined;
  try {
    if (wants('upload')) rows.push(...(await benchUploads({ user: await target.signUp(), serverPid: target.pid, tusChunked: process.env.BENCH_UPLOAD_TUS_CHUNKED === '1', size: config.size, reps: config.reps })));
    if (wants('download') || wants('instant') || wants('memory')) await bigFileSteps(target, rows);
    if (wants('metadata')) {
      app = target.app ? target : await inProcessTarget(SERVER_ENV);
      if (!app.app) throw new Error('no in-process app');
      rows.push(...(await benchMetadata({ t: app.app, owner: await app.signUp(), target, files: config.files, clients: config.clients, seconds: config.clientSeconds })));
    }
    if (wants('api')) rows.push(...(await benchApiLoad({ target, ...config.api })));
    if (wants('tus')) rows.push(...(await benchTus({ target, user: await target.signUp(), size: config.tusSize, reps: config.reps })));
    if (wants('small')) {
      app ??= target.app ? target : await inProcessTarget(SERVER_ENV);
      rows.push(...(await benchSmallFiles({ target, counting: app, files: config.smallFiles, reps: config.reps })));
    }
    if (wants('search')) {
      app ??= target.app ? target : await inProcessTarget(SERVER_ENV);
      if (!app.app) throw new Error('no in-process app');
      rows.push(...(await benchSearch({ t: app.app, owner: await app.signUp(), files: config.searchFiles })));
    }
    if (wants('webdav')) rows.push(...(await benchWebdav({ target, user: await target.signUp(), size: config.size, reps: config.reps })));
  } catch (error) {
    // A step that dies must not take the finished steps' figures with it: they are written (not
    // as latest.json), then the run fails.
    failure = error;
  } finally {
    if (app && app !== target) await app.close();
    await target.close();
  }

  printTable(rows);
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  const load = machine.stop();
  log(`machine busy ${Math.round(100 * load.busyShare)} % of all CPUs over the run (bench and its servers ${Math.round(100 * load.benchShare)} %, other processes ${Math.round(100 * load.otherShare)} %)`);
  // latest.json (the README's table, `npm run bench:readme`) only from a run of every step.
  const full = failure === undefined && (STEPS.every(wants) || process.env.BENCH_LATEST === '1');
  const files = writeResults(dir, rows, { ...config, sizeMiB: config.size / MiB }, startedAt, load, full);
  log(`wrote ${files.join(', ')}`);
  if (failure !== undefined) throw failure;
}

// Before any target reads TEST_S3_BUCKET: the servers' routing, the direct client and the tus peer
// all take the run's bucket from it.
const removeRunBuckets = await runBucketsUntilExit();
const code = await main().then(
  () => 0,
  (error: unknown) => {
    console.error(error);
    return 1;
  },
);
log('removing the S3 buckets of this run');
await removeRunBuckets();
// The removed objects keep their space until RGW's GC (2 h by default): free it for the next run.
await rgwGc().catch((error: unknown) => log(`RGW garbage collection failed: ${String(error)}`));
log(`done; ${await describeDisk()}`);
// Keep-alive sockets and the app's timers must not keep the process up after the table.
process.exit(code);
