/**
 * 2. Download throughput of one 1 GiB file, and what each hop costs in CPU. In one repetition,
 *    back to back and in a rotating order, the same object is read by curl into /dev/null (how
 *    people download; a client no one here wrote, whose own CPU is ~0.3 s/GiB and steady):
 *    - direct: straight from RGW, a presigned URL (`direct.curl`, the reference of every ratio);
 *      beside it `@aws-sdk/client-s3` GetObject in this process (`direct.sdk`, the reference of
 *      the runs before 2026-12-06 15:00, whose node:http client spent 0.6 to 3.3 CPU s/GiB on
 *      the same transfer as its garbage collection came and went: the noise of those ratios);
 *    - through a bare proxy (bench/bare-proxy.ts, a child process: `pipeline(GetObject body, res)`
 *      and nothing else; `bare.curl`);
 *    - through Stratus: `GET /files/{id}/content` with the backend in `proxy` mode (the default:
 *      the bytes pass through the server, spliced inside the kernel where the addon is built) and
 *      in `redirect` mode (302 to a presigned URL, followed by curl -L).
 *    Each at 1 request in flight (the whole file) and 4 (four ranges of a quarter each). Beside
 *    MiB/s, the CPU seconds per GiB of the client (curl's user + system time), of the process in
 *    the middle (the bare proxy or Stratus) and of radosgw: CPU seconds do not depend on what
 *    else the machine runs, wall-clock ratios do. Every variant first reads the object once untimed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { testEnv } from '../test/support/env.ts';
import { cpuSecondsOf, cpuSecondsPerGiB } from './lib/cpu.ts';
import { curlGet } from './lib/curl.ts';
import type { Row } from './lib/report.ts';
import { directS3, log } from './lib/stack.ts';
import { median, mibPerSecond, round, sizeLabel } from './lib/stats.ts';
import { drainGet, redirectLocation } from './lib/stratus.ts';
import type { Target, User } from './lib/target.ts';

export interface DownloadBenchOptions {
  target: Target;
  url: string;
  user: User;
  fileId: string;
  size: number;
  reps: number;
}

type Range = { start: number; end: number };
/** One GET: the bytes it read, and the client's own CPU seconds when the client is another process. */
type Get = (range?: Range) => Promise<{ bytes: number; cpu?: number }>;
type Mode = 'redirect' | 'proxy';
type Shape = 'p1' | 'p4';

interface Variant {
  id: string;
  label: string;
  /** The Stratus download mode it needs, if any. */
  mode?: Mode;
  /** The process in the middle whose CPU is counted (none for a direct GET). */
  pid?: number;
  get: Get;
}

const SHAPES: Record<Shape, number> = { p1: 1, p4: 4 };

function ranges(size: number, count: number): Range[] {
  const step = Math.ceil(size / count);
  return Array.from({ length: count }, (_, i) => ({ start: i * step, end: Math.min(size, (i + 1) * step) - 1 }));
}

async function drain(body: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of body) bytes += (chunk as Buffer).length;
  return bytes;
}

const rangeHeader = (r?: Range): Record<string, string> => (r ? { range: `bytes=${r.start}-${r.end}` } : {});

/** radosgw's pid, for its CPU share (undefined when it runs elsewhere). */
function rgwPid(): number | undefined {
  try {
    const pid = Number(execFileSync('pgrep', ['-xo', 'radosgw'], { encoding: 'utf8' }).trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function startBareProxy(): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(testEnv.root, 'bench/bare-proxy.ts')], {
    cwd: testEnv.root,
    // The run's bucket (bench/run.ts points TEST_S3_BUCKET at it): the file would name the shared one.
    env: { PATH: process.env.PATH ?? '', TEST_S3_BUCKET: testEnv.s3.bucket, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /ready on http:\/\/localhost:(\d+)/.exec(chunk.toString());
      if (match?.[1]) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`bare proxy exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** What one timed transfer cost: MiB/s, and CPU seconds per GiB of client, middle and RGW. */
interface Sample {
  mibs: number;
  client: number;
  middle: number;
  rgw: number;
}

async function timed(v: Variant, size: number, inFlight: number, rgw: number | undefined): Promise<Sample> {
  const cpu = () => ({ client: cpuSecondsOf(process.pid), middle: v.pid ? cpuSecondsOf(v.pid) : 0, rgw: rgw ? cpuSecondsOf(rgw) : 0 });
  const before = cpu();
  const started = performance.now();
  const got = inFlight === 1 ? [await v.get()] : await Promise.all(ranges(size, inFlight).map((r) => v.get(r)));
  const ms = performance.now() - started;
  const after = cpu();
  const bytes = got.reduce((a, b) => a + b.bytes, 0);
  if (bytes !== size) throw new Error(`${v.id} download (${inFlight} in flight) gave ${bytes} of ${size} bytes`);
  const perGiB = (seconds: number) => round(cpuSecondsPerGiB(seconds, size), 2);
  // A client in another process (curl) reports its own CPU; else it is this process's.
  const client = got.every((g) => g.cpu !== undefined) ? got.reduce((a, g) => a + (g.cpu ?? 0), 0) : after.client - before.client;
  return { mibs: round(mibPerSecond(size, ms)), client: perGiB(client), middle: perGiB(after.middle - before.middle), rgw: perGiB(after.rgw - before.rgw) };
}

async function variantsFor(o: DownloadBenchOptions, bareUrl: string, barePid: number, s3: ReturnType<typeof directS3>): Promise<Variant[]> {
  const auth = { authorization: `Bearer ${o.user.token}` };
  const content = `${o.url}/files/${o.fileId}/content`;
  const stratus = (mode: Mode): Get => async (range) => {
    const res = await curlGet(content, auth, { ...(range ? { range } : {}), follow: true });
    if (res.status !== (range ? 206 : 200)) throw new Error(`download answered ${res.status}`);
    if ((res.redirects === 1) !== (mode === 'redirect')) throw new Error(`download in ${mode} mode followed ${res.redirects} redirects`);
    return res;
  };
  const key = await objectKeyBehind(o.target, content, auth, s3.bucket);
  const sdk: Get = async (range) => {
    const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key, Range: rangeHeader(range).range }));
    return { bytes: await drain(out.Body as Readable) };
  };
  const direct: Get = async (range) => {
    const url = await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: s3.bucket, Key: key }), { expiresIn: 300 });
    return curlGet(url, {}, range ? { range } : {});
  };
  const bare: Get = (range) => curlGet(`${bareUrl}/sdk/${encodeURIComponent(key)}`, {}, range ? { range } : {});
  return [
    { id: 'direct.curl', label: 'direct RGW, curl (presigned URL)', get: direct },
    { id: 'direct.sdk', label: 'direct RGW, SDK GetObject in process', get: sdk },
    { id: 'bare.curl', label: 'bare proxy (SDK upstream), curl', pid: barePid, get: bare },
    { id: 'proxy', label: 'Stratus (proxy), curl', mode: 'proxy', pid: o.target.pid, get: stratus('proxy') },
    { id: 'redirect', label: 'Stratus (redirect), curl -L', mode: 'redirect', pid: o.target.pid, get: stratus('redirect') },
  ];
}

/**
 * The key of the object a Stratus download serves, so that direct GETs read the very same object:
 * from the redirect's path-style presigned URL (/<bucket>/<key>). Leaves the server in redirect mode.
 */
export async function objectKeyBehind(target: Target, content: string, auth: Record<string, string>, bucket: string): Promise<string> {
  await switchTo(target, content, auth, 'redirect');
  const location = await redirectLocation(content, auth);
  if (!location) throw new Error('redirect mode gave no Location');
  return decodeURIComponent(new URL(location).pathname.slice(`/${bucket}/`.length));
}

/** The server follows the routing file within a poll interval: wait until it answers in `mode`. */
export async function switchTo(target: Target, content: string, auth: Record<string, string>, mode: Mode): Promise<void> {
  target.setDownloads(mode);
  for (let i = 0; i < 100; i++) {
    const res = await drainGet(content, { ...auth, range: 'bytes=0-0' });
    if (res.redirected === (mode === 'redirect')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server never switched downloads to ${mode}`);
}

export async function benchDownloads(o: DownloadBenchOptions): Promise<Row[]> {
  const s3 = directS3();
  const bare = await startBareProxy();
  const rgw = rgwPid();
  const content = `${o.url}/files/${o.fileId}/content`;
  const auth = { authorization: `Bearer ${o.user.token}` };
  const samples = new Map<string, Sample[]>();
  try {
    const variants = await variantsFor(o, bare.url, bare.child.pid ?? 0, s3);
    for (const v of variants) {
      if (v.mode) await switchTo(o.target, content, auth, v.mode);
      await v.get();
    }
    for (let rep = 0; rep < o.reps; rep++) {
      // The variants of one shape run back to back, in an order that rotates, so that the
      // cluster's slow drift (disk, RGW garbage collection) hits them alike; ratios are taken
      // within the repetition.
      const order = variants.map((_, i) => variants[(i + rep) % variants.length]!);
      for (const shape of Object.keys(SHAPES) as Shape[]) {
        for (const v of order) {
          if (v.mode) await switchTo(o.target, content, auth, v.mode);
          const key = `${v.id}.${shape}`;
          samples.set(key, [...(samples.get(key) ?? []), await timed(v, o.size, SHAPES[shape], rgw)]);
        }
      }
      log(`download rep ${rep + 1}/${o.reps}: ${[...samples].map(([k, v]) => `${k} ${v.at(-1)?.mibs} MiB/s ${v.at(-1)?.middle || v.at(-1)?.client} s/GiB`).join(', ')}`);
    }
    return rows(variants, samples, o.size, o.reps);
  } finally {
    s3.client.destroy();
    await bare.stop();
    o.target.setDownloads('proxy');
  }
}

function rows(variants: Variant[], samples: Map<string, Sample[]>, size: number, reps: number): Row[] {
  const med = (key: string, f: (s: Sample) => number) => round(median((samples.get(key) ?? []).map(f)), 2);
  return (Object.keys(SHAPES) as Shape[]).flatMap((shape) => {
    const inFlight = `${SHAPES[shape]} in flight`;
    const ref = samples.get(`direct.curl.${shape}`) ?? [];
    const refCpu = med(`bare.curl.${shape}`, (s) => s.middle);
    return variants.flatMap((v): Row[] => {
      const key = `${v.id}.${shape}`;
      const mine = samples.get(key) ?? [];
      const paired = mine.map((s, i) => round(s.mibs / (ref[i]?.mibs ?? Number.NaN), 3));
      const cpu = `CPU s/GiB: client ${med(key, (s) => s.client)}, ${v.pid ? `middle ${med(key, (s) => s.middle)}, ` : ''}radosgw ${med(key, (s) => s.rgw)}`;
      const row: Row = {
        id: `download.${v.id}.${shape}`,
        label: `download ${sizeLabel(size)} ${v.label}, ${inFlight}`,
        value: med(key, (s) => s.mibs),
        unit: 'MiB/s',
        samples: mine.map((s) => s.mibs),
        note: `${cpu}; ratio: median of ${reps} paired (${paired.map((x) => x.toFixed(2)).join(' ')})`,
      };
      if (v.id !== 'direct.curl') {
        row.reference = { label: `direct curl GET, ${inFlight}`, value: med(`direct.curl.${shape}`, (s) => s.mibs) };
        row.ratio = round(median(paired), 2);
      }
      if (v.mode) {
        row.target = '≥0.9× direct';
        row.met = (row.ratio ?? 0) >= 0.9;
      }
      if (!v.pid || v.mode === 'redirect') return [row];
      // The CPU the process in the middle spends per GiB, against the bare SDK proxy's.
      const cpuRow: Row = {
        id: `download.cpu.${v.id}.${shape}`,
        label: `CPU of ${v.label} per GiB, ${inFlight}`,
        value: med(key, (s) => s.middle),
        unit: 's/GiB',
        samples: mine.map((s) => s.middle),
        reference: { label: `bare proxy (SDK upstream), ${inFlight}`, value: refCpu },
        ratio: round(med(key, (s) => s.middle) / refCpu, 2),
        note: 'utime+stime of the process from /proc/<pid>/stat',
      };
      return [row, cpuRow];
    });
  });
}
