/**
 * `npx tsx bench/profile/small-by-size.ts [files]`: where the small-files step loses time. The
 * cdperf mix's files per size class, uploaded the CLI's way for many files (`sendFiles`: the files
 * under 1 MiB in batches, a larger one alone) and straight to RGW (4 in flight, as the bench), with
 * the wall time of each class, the server's CPU per file and per MiB, and the median latency of one
 * direct PUT.
 * Before each turn the server is let go idle: the thumbnail jobs that one class's images queued
 * (run one at a time, after their uploads answered) would otherwise slow the next turn.
 * A diagnosis, not a figure for the README (the bench's small step is).
 */
import { createReadStream } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload as S3Upload } from '@aws-sdk/lib-storage';
import { ONE_REQUEST_MAX } from '../../cli/lib/upload-small.ts';
import { sendFiles } from '../../cli/lib/upload-batch.ts';
import { measureCpu, settle } from '../lib/cpu.ts';
import { BUCKETS, writeMix, type MixFile } from '../lib/file-mix.ts';
import { directS3 } from '../lib/stack.ts';
import { median, MiB, pool, round } from '../lib/stats.ts';
import { probeTarget } from '../lib/target.ts';

const files = Number(process.argv[2] ?? 600);
const mix = await writeMix(files, `probe-${Date.now()}`);
const target = await probeTarget();
const s3 = directS3();
const PART = 8 * MiB;

async function timed(list: MixFile[], one: (f: MixFile) => Promise<void>): Promise<{ s: number; p50: number }> {
  const lat: number[] = [];
  const started = performance.now();
  await pool(list, 4, async (f) => {
    const t = performance.now();
    await one(f);
    lat.push(performance.now() - t);
  });
  return { s: round((performance.now() - started) / 1000, 2), p50: round(median(lat), 1) };
}

try {
  const user = await target.signUp();
  for (const [i, bucket] of BUCKETS.entries()) {
    const list = mix.files.filter((f) => f.bucket === i);
    if (list.length === 0) continue;
    await settle(target.pid);
    const cpu = measureCpu(target.pid);
    const t = performance.now();
    const outcomes = await sendFiles(user.api, list.map((f) => ({ path: f.path, name: `${i}-${f.name}`, size: f.size })), { parallel: 4 });
    const stratusS = round((performance.now() - t) / 1000, 2);
    const serverMs = (cpu.stop() * 1000) / list.length;
    const failed = outcomes.find((o) => o.error);
    if (failed?.error) throw failed.error;
    const mib = list.reduce((sum, f) => sum + f.size, 0) / MiB;
    await settle(target.pid);
    const direct = await timed(list, async (f) => {
      const params = { Bucket: s3.bucket, Key: `probe/${Date.now()}-${f.name}`, Body: createReadStream(f.path) };
      if (f.size <= ONE_REQUEST_MAX) await s3.client.send(new PutObjectCommand({ ...params, ContentLength: f.size }));
      else await new S3Upload({ client: s3.client, params, partSize: PART, queueSize: 4 }).done();
    });
    console.log(`${bucket.label.padEnd(10)} ${String(list.length).padStart(4)} files (${round(mib, 1)} MiB): Stratus ${stratusS} s (server ${round(serverMs, 1)} CPU ms/file, ${round((serverMs * list.length) / mib, 1)} ms/MiB), direct ${direct.s} s (p50 ${direct.p50} ms/file), ratio ${round(direct.s / stratusS, 2)}`);
  }
} finally {
  mix.remove();
  s3.client.destroy();
  await target.close();
}
