/**
 * `npx tsx bench/profile/small-mix-timeline.ts [files] [slices]`: how the small-files step's time is
 * spent over a slice of the cdperf mix, the Stratus CLI's way (sendFiles) against straight to RGW
 * (the bench's direct client), 4 in flight, the same files, the order of the two alternating from
 * slice to slice. For each turn: the wall time, when half and nine tenths of the bytes were in,
 * and the tail: the time after the fourth-last file ended, when fewer than 4 lanes can be busy (a
 * big file that starts late leaves the others idle). A diagnosis, not a README figure.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload as S3Upload } from '@aws-sdk/lib-storage';
import { ONE_REQUEST_MAX } from '../../cli/lib/upload-small.ts';
import { sendFiles } from '../../cli/lib/upload-batch.ts';
import { cpuSecondsOf, settle } from '../lib/cpu.ts';
import { writeMix, type MixFile } from '../lib/file-mix.ts';
import { directS3 } from '../lib/stack.ts';
import { MiB, pool, round } from '../lib/stats.ts';
import { probeTarget } from '../lib/target.ts';

const files = Number(process.argv[2] ?? 2000);
const slices = Number(process.argv[3] ?? 3);
const IN_FLIGHT = 4;
const mix = await writeMix(files, `timeline-${Date.now()}`);
const target = await probeTarget();
const s3 = directS3();

/** CPU seconds so far of the server, this process (the client) and the services beside them. */
function cpuNow(): Map<string, number> {
  const seconds = new Map<string, number>([['server', cpuSecondsOf(target.pid)], ['client', cpuSecondsOf(process.pid)]]);
  for (const name of ['radosgw', 'ceph-osd', 'mariadbd', 'redis-server']) {
    const pids = execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    seconds.set(name, pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0));
  }
  return seconds;
}
const cpuSince = (before: Map<string, number>, n: number): string => {
  const after = cpuNow();
  const parts = [...after].map(([name, s]) => [name, ((s - (before.get(name) ?? 0)) * 1000) / n] as const);
  return `${round(parts.reduce((a, [, ms]) => a + ms, 0), 1)} CPU ms/file: ${parts.map(([name, ms]) => `${name} ${round(ms, 1)}`).join(', ')}`;
};

/** Completion times (ms from the start) with each file's size, and the wall time. */
interface Turn { ms: number; ends: { at: number; size: number }[] }

function describe(name: string, turn: Turn): string {
  const ends = [...turn.ends].sort((a, b) => a.at - b.at);
  const total = ends.reduce((s, e) => s + e.size, 0);
  const when = (share: number) => {
    let sum = 0;
    for (const e of ends) if ((sum += e.size) >= share * total) return e.at;
    return turn.ms;
  };
  const fourthLast = ends.at(-IN_FLIGHT)?.at ?? 0;
  const last = ends.slice(-IN_FLIGHT).map((e) => `${round(e.size / MiB, 1)}`).join('/');
  return `${name.padEnd(7)} ${round(turn.ms / 1000, 2)} s (${round(ends.length / (turn.ms / 1000), 1)} files/s): half the bytes at ${round(when(0.5) / 1000, 1)} s, 90 % at ${round(when(0.9) / 1000, 1)} s, tail ${round((turn.ms - fourthLast) / 1000, 2)} s (last files ${last} MiB)`;
}

async function stratus(user: Awaited<ReturnType<typeof target.signUp>>, list: MixFile[]): Promise<Turn> {
  const ends: Turn['ends'] = [];
  const t = performance.now();
  const outcomes = await sendFiles(user.api, list.map((f) => ({ path: f.path, name: f.name, size: f.size })), {
    parallel: IN_FLIGHT,
    onFile: (f) => ends.push({ at: performance.now() - t, size: f.size }),
  });
  const failed = outcomes.find((o) => o.error);
  if (failed?.error) throw failed.error;
  return { ms: performance.now() - t, ends };
}

async function direct(list: MixFile[], rep: number): Promise<Turn> {
  const ends: Turn['ends'] = [];
  const t = performance.now();
  await pool(list, IN_FLIGHT, async (f) => {
    const params = { Bucket: s3.bucket, Key: `timeline-${rep}/${f.name}`, Body: createReadStream(f.path) };
    if (f.size <= ONE_REQUEST_MAX) await s3.client.send(new PutObjectCommand({ ...params, ContentLength: f.size }));
    else await new S3Upload({ client: s3.client, params, partSize: 8 * MiB, queueSize: IN_FLIGHT }).done();
    ends.push({ at: performance.now() - t, size: f.size });
  });
  return { ms: performance.now() - t, ends };
}

try {
  const user = await target.signUp();
  for (let rep = 0; rep < slices; rep++) {
    const list = mix.files.filter((_, i) => i % slices === rep);
    const order = rep % 2 === 0 ? (['stratus', 'direct'] as const) : (['direct', 'stratus'] as const);
    const turns: Record<string, Turn> = {};
    for (const system of order) {
      await settle(target.pid);
      const before = cpuNow();
      const turn = system === 'stratus' ? await stratus(user, list) : await direct(list, rep);
      turns[system] = turn;
      console.log(`${system} ${cpuSince(before, list.length)}`);
    }
    const s = turns.stratus as Turn;
    const d = turns.direct as Turn;
    console.log(`slice ${rep + 1}/${slices}, ${list.length} files, ${order.join(' then ')}: ratio ${round(d.ms / s.ms, 2)}`);
    console.log(`  ${describe('stratus', s)}`);
    console.log(`  ${describe('direct', d)}`);
  }
} finally {
  mix.remove();
  s3.client.destroy();
  await target.close();
}
