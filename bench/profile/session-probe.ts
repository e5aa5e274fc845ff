/**
 * `npx tsx bench/profile/session-probe.ts [files] [MiB] [rounds]`: what a large file's bytes cost
 * the server by the way they come. `files` files of `MiB` each (default 4 × 105, the cdperf mix's
 * top class), each round uploaded three ways in turn, 4 files in flight as the bench: the CLI's
 * session (sendFile; its default chunks, 4 in flight), one uploadFile request (sendFile with a
 * chunk size above the file), and straight to RGW with lib-storage (8 MiB parts, 4 in flight).
 * Prints the wall time and the CPU ms per MiB of the server, this client, RGW and the OSD.
 * A diagnosis, not a README figure (the bench's small step is).
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { stat } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload as S3Upload } from '@aws-sdk/lib-storage';
import { sendFile } from '../../cli/lib/upload-small.ts';
import { cpuSecondsOf, measureCpu, settle } from '../lib/cpu.ts';
import { directS3, tempFile } from '../lib/stack.ts';
import { MiB, pool, round } from '../lib/stats.ts';
import { probeTarget } from '../lib/target.ts';

const files = Number(process.argv[2] ?? 4);
const mib = Number(process.argv[3] ?? 105);
const rounds = Number(process.argv[4] ?? 2);
const IN_FLIGHT = 4;
const SERVICES = ['radosgw', 'ceph-osd'];
const servicesCpu = (): number[] =>
  SERVICES.map((name) => execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number).reduce((s, pid) => s + cpuSecondsOf(pid), 0));

const target = await probeTarget();
const s3 = directS3();
const made = await Promise.all(Array.from({ length: files }, (_, i) => tempFile(`big-${i}.bin`, mib * MiB, `session-probe-${i}-${Date.now()}`)));
const total = files * mib;
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
/** CLOCK_MONOTONIC windows of the turns, for `split.ts PROFILE session-phases.json` (BENCH_PROFILE_DIR). */
const phases: { label: string; startUs: number; endUs: number }[] = [];
type Way = 'session' | 'session4' | 'session32' | 'request' | 'direct' | 'put';
// PROBE_WAYS=session,request: only those ways (default all three).
const WAYS = (process.env.PROBE_WAYS ?? 'session,request,direct').split(',') as Way[];
async function turn(way: Way, round_: number, api: Parameters<typeof sendFile>[0]): Promise<void> {
  await settle(target.pid);
  const server = measureCpu(target.pid);
  const client = measureCpu();
  const before = servicesCpu();
  const t = performance.now();
  const startUs = nowUs();
  await pool(made, IN_FLIGHT, async ({ file }) => {
    const name = `${way}-${round_}-${path.basename(file)}`;
    if (way === 'put') {
      const st = await stat(file);
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `probe/${Date.now()}-${name}`, Body: createReadStream(file), ContentLength: st.size }));
    } else if (way === 'direct') {
      await new S3Upload({ client: s3.client, params: { Bucket: s3.bucket, Key: `probe/${Date.now()}-${name}`, Body: createReadStream(file) }, partSize: 8 * MiB, queueSize: IN_FLIGHT }).done();
    } else {
      await sendFile(api, file, { name, noInstant: true, ...(way === 'request' ? { chunkSize: (mib + 1) * MiB } : way === 'session32' ? { chunkSize: 32 * MiB } : way === 'session4' ? { chunkSize: 4 * MiB } : {}) });
    }
  });
  const s = (performance.now() - t) / 1000;
  phases.push({ label: `${way} ${round_}`, startUs, endUs: nowUs() });
  const per = (seconds: number) => round((seconds * 1000) / total, 2);
  const services = servicesCpu().map((v, i) => `${SERVICES[i]} ${per(v - (before[i] ?? 0))}`).join(', ');
  console.log(`${way.padEnd(7)} round ${round_}: ${round(total / s)} MiB/s; CPU ms/MiB: server ${way === 'direct' || way === 'put' ? '-' : per(server.stop())}, client ${per(client.stop())}, ${services}`);
}
try {
  const user = await target.signUp();
  for (let r = 1; r <= rounds; r++) {
    for (const way of WAYS) await turn(way, r, user.api);
  }
  const dir = process.env.BENCH_PROFILE_DIR;
  if (dir) writeFileSync(path.join(dir, 'session-phases.json'), JSON.stringify(phases));
} finally {
  s3.client.destroy();
  for (const m of made) m.remove();
  await target.close();
}
