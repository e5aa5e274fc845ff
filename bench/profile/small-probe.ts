/**
 * `npx tsx bench/profile/small-probe.ts [files] [KiB] [extension]`: what one small upload costs the server.
 * Uploads `files` files of `KiB` each, each of its own bytes (the same bytes would take the dedup
 * path: a second blob read, the object deleted again), default 400 × 100 KiB (the cdperf mix's commonest class),
 * with the CLI's `sendFile` at 4 in flight, after a warm-up, and prints the server's CPU ms per file
 * and the files per second, beside the same files PUT straight to RGW. With BENCH_PROFILE_DIR set,
 * it writes `small-phases.json` next to the server's profile, so
 * `npx tsx bench/profile/split.ts PROFILE small-phases.json` charges the samples of the measured
 * window to their owners. A diagnosis, not a README figure (the bench's small step is).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { sendFile } from '../../cli/lib/upload-small.ts';
import { sendFiles } from '../../cli/lib/upload-batch.ts';
import { cpuSecondsOf, measureCpu } from '../lib/cpu.ts';
import { directS3, tempFile } from '../lib/stack.ts';
import { pool, round } from '../lib/stats.ts';
import { probeTarget } from '../lib/target.ts';

const files = Number(process.argv[2] ?? 400);
const size = Number(process.argv[3] ?? 100) * 1024;
// The files' extension: `jpg` (the default) makes each an image by name, so the thumbnail job reads
// its head from RGW and records that it is none; `bin` leaves the job out.
const extension = process.argv[4] ?? 'jpg';
const IN_FLIGHT = 4;
// PROBE_DIRECT_IN_FLIGHT: the direct PUTs' concurrency (default the same 4). A batch of Stratus has
// up to 32 files' PUTs to RGW at once behind its 4 requests; S3 has no request for several objects,
// so a direct client can only match that with more requests in flight.
const DIRECT_IN_FLIGHT = Number(process.env.PROBE_DIRECT_IN_FLIGHT ?? IN_FLIGHT);

const target = await probeTarget();
const s3 = directS3();
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
/** The services beside the server on this box: their CPU per file says who else the bytes cost. */
const SERVICES = ['radosgw', 'ceph-osd', 'mariadbd', 'redis-server'];
function servicesCpu(): Map<string, number> {
  const seconds = new Map<string, number>();
  for (const name of SERVICES) {
    const pids = execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    seconds.set(name, pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0));
  }
  return seconds;
}
const perFile = (before: Map<string, number>, n: number): string =>
  [...servicesCpu()].map(([name, s]) => `${name} ${round(((s - (before.get(name) ?? 0)) * 1000) / n, 2)}`).join(', ');
/** `n` files of distinct bytes (their seed is their name). */
const sources = async (prefix: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => tempFile(`${prefix}-${i}.${extension}`, size, `${prefix}-${i}-${Date.now()}`)));
const made: { file: string; remove(): void }[] = [];
// PROBE_WAY=single: one uploadFile per file (sendFile), as before uploadFiles; default: the CLI's
// way for many files (sendFiles: small files batched).
const single = process.env.PROBE_WAY === 'single';
const upload = async (api: Parameters<typeof sendFile>[0], list: { file: string }[]) => {
  if (single) {
    await pool(list, IN_FLIGHT, async ({ file }) => { await sendFile(api, file, { name: path.basename(file) }); });
    return;
  }
  const outcomes = await sendFiles(api, list.map(({ file }) => ({ path: file, name: path.basename(file), size })), { parallel: IN_FLIGHT });
  const failed = outcomes.find((o) => o.error);
  if (failed?.error) throw failed.error;
};
try {
  const user = await target.signUp();
  const [warm, measured, direct] = [await sources('warm', 50), await sources('file', files), await sources('direct', files)];
  made.push(...warm, ...measured, ...direct);
  await upload(user.api, warm);

  const startUs = nowUs();
  const server = measureCpu(target.pid);
  let services = servicesCpu();
  const client = measureCpu();
  let t = performance.now();
  await upload(user.api, measured);
  const stratusS = (performance.now() - t) / 1000;
  const serverMs = (server.stop() * 1000) / files;
  const clientMs = (client.stop() * 1000) / files;
  const endUs = nowUs();
  const stratusServices = perFile(services, files);
  services = servicesCpu();

  const directClient = measureCpu();
  t = performance.now();
  await pool(direct, DIRECT_IN_FLIGHT, async ({ file }) => {
    const Key = `probe/${Date.now()}-${path.basename(file)}`;
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: createReadStream(file), ContentLength: size }));
  });
  const directS = (performance.now() - t) / 1000;
  const directClientMs = (directClient.stop() * 1000) / files;
  const directServices = perFile(services, files);
  console.log(`${files} × ${size / 1024} KiB, ${IN_FLIGHT} in flight, ${single ? 'one request per file' : 'the CLI\'s batches'}: Stratus ${round(files / stratusS)} files/s (server ${round(serverMs, 2)} CPU ms/file, this client ${round(clientMs, 2)}), direct ${round(files / directS)} files/s at ${DIRECT_IN_FLIGHT} in flight (its SDK client ${round(directClientMs, 2)} CPU ms/file), ratio ${round(directS / stratusS, 2)}`);
  console.log(`CPU ms per file, Stratus way: ${stratusServices}`);
  console.log(`CPU ms per file, direct way: ${directServices}`);
  const dir = process.env.BENCH_PROFILE_DIR;
  if (dir) writeFileSync(path.join(dir, 'small-phases.json'), JSON.stringify([{ label: `${files} small uploads`, startUs, endUs }]));
} finally {
  s3.client.destroy();
  for (const m of made) m.remove();
  await target.close();
}
