/**
 * `npx tsx bench/profile/download-clients.ts [MiB] [reps]`: what a proxied download costs when the
 * client is curl, as people download, against the bench's own node:http client. One object, read
 * straight from RGW (a presigned URL) and through a Stratus server process in `proxy` mode, by
 * curl (its own user + system seconds, from bash's `time`) and by `drainGet` in this process, 1
 * and 4 ranges in flight. Per GiB: the client's CPU, the server's split into user and kernel time
 * (the kernel's is the two socket copies a proxy cannot avoid), and radosgw's.
 *
 * Why: the bench's node:http client spends 0.6 to 3.3 CPU s/GiB on the very same transfer, as its
 * own heap's garbage collection comes and goes (64 KiB of fresh memory per socket read); on two
 * cores that swing is the proxied ratio's noise. curl reads into one buffer and costs 0.3.
 * A diagnosis, not a README table figure (the bench's download step is).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { uploadFile } from '../../cli/lib/upload.ts';
import { objectKeyBehind, switchTo } from '../download.bench.ts';
import { cpuSecondsOf, procTimes } from '../lib/cpu.ts';
import { curlGet } from '../lib/curl.ts';
import { directS3, tempFile } from '../lib/stack.ts';
import { median, MiB, round } from '../lib/stats.ts';
import { drainGet } from '../lib/stratus.ts';
import { probeTarget } from '../lib/target.ts';

const run = promisify(execFile);
const size = Number(process.argv[2] ?? 1024) * MiB;
const reps = Number(process.argv[3] ?? 3);

/** utime and stime of a process, seconds. */
function userSystem(pid: number): [number, number] {
  const { user, system } = procTimes(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return [user, system];
}

const target = await probeTarget();
const s3 = directS3();
const source = await tempFile('download-clients.bin', size, `download-clients-${Date.now()}`);
const rgw = Number((await run('pgrep', ['-xo', 'radosgw'])).stdout.trim());
try {
  const user = await target.signUp();
  const stored = await uploadFile(user.api, source.file, { name: 'd.bin', parallel: 4, noInstant: true });
  const content = `${target.url}/files/${stored.session.file?.id}/content`;
  const auth = { authorization: `Bearer ${user.token}` };
  const key = await objectKeyBehind(target, content, auth, s3.bucket);
  await switchTo(target, content, auth, 'proxy');
  const presigned = () => getSignedUrl(s3.client, new GetObjectCommand({ Bucket: s3.bucket, Key: key }), { expiresIn: 300 });

  /** 'a-b' as curl's -r takes it. */
  const parse = (r: string) => {
    const [start = 0, end = 0] = r.split('-').map(Number);
    return { start, end };
  };
  type Way = (range: string) => Promise<number>;
  const ways: Record<string, Way> = {
    'curl, direct': async (r) => (await curlGet(await presigned(), {}, { range: parse(r) })).cpu,
    'curl, proxy': async (r) => (await curlGet(content, auth, { range: parse(r) })).cpu,
    'node:http, direct': async (r) => (await drainGet(await presigned(), { range: `bytes=${r}` }), 0),
    'node:http, proxy': async (r) => (await drainGet(content, { ...auth, range: `bytes=${r}` }), 0),
  };
  const ranges = (n: number) => Array.from({ length: n }, (_, i) => `${Math.floor((i * size) / n)}-${Math.floor(((i + 1) * size) / n) - 1}`);
  const gib = size / 1024 ** 3;
  const results = new Map<string, { mibs: number[]; client: number[]; user: number[]; kernel: number[]; rgw: number[] }>();
  for (let rep = 0; rep < reps; rep++) {
    for (const inFlight of [1, 4]) {
      for (const [name, get] of Object.entries(ways)) {
        const [u0, k0] = userSystem(target.pid);
        const own0 = cpuSecondsOf(process.pid);
        const rgw0 = cpuSecondsOf(rgw);
        const started = performance.now();
        const curlCpu = (await Promise.all(ranges(inFlight).map(get))).reduce((a, b) => a + b, 0);
        const seconds = (performance.now() - started) / 1000;
        const [u1, k1] = userSystem(target.pid);
        const label = `${name}, ${inFlight} in flight`;
        const r = results.get(label) ?? { mibs: [], client: [], user: [], kernel: [], rgw: [] };
        r.mibs.push(size / MiB / seconds);
        r.client.push((name.startsWith('curl') ? curlCpu : cpuSecondsOf(process.pid) - own0) / gib);
        r.user.push((u1 - u0) / gib);
        r.kernel.push((k1 - k0) / gib);
        r.rgw.push((cpuSecondsOf(rgw) - rgw0) / gib);
        results.set(label, r);
      }
    }
  }
  const list = (xs: number[]) => xs.map((x) => round(x, 2)).join(' ');
  for (const [label, r] of results) {
    const middle = label.includes('proxy') ? `, server user ${round(median(r.user), 2)} + kernel ${round(median(r.kernel), 2)}` : '';
    console.log(`${label}: ${round(median(r.mibs))} MiB/s (${list(r.mibs)}); CPU s/GiB client ${round(median(r.client), 2)} (${list(r.client)})${middle}, radosgw ${round(median(r.rgw), 2)}`);
  }
  for (const client of ['curl', 'node:http']) {
    for (const inFlight of [1, 4]) {
      const direct = results.get(`${client}, direct, ${inFlight} in flight`)?.mibs ?? [];
      const proxy = results.get(`${client}, proxy, ${inFlight} in flight`)?.mibs ?? [];
      console.log(`${client}, ${inFlight} in flight: proxy/direct per repetition ${list(proxy.map((p, i) => p / (direct[i] ?? p)))}`);
    }
  }
} finally {
  source.remove();
  s3.client.destroy();
  await target.close();
}
