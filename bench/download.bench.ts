/**
 * 2. Download throughput of one 1 GiB file: `GET /files/{id}/content` against a GetObject of the
 *    same bytes stored straight in the bucket, whole and as 8 parallel ranges, with the backend in
 *    each download mode: `redirect` (302 to a presigned URL, followed) and `proxy` (the bytes pass
 *    through the server). The direct GET reads the very object the redirect names (same placement
 *    in the cluster); every variant first reads it once untimed, and the order of the variants
 *    rotates from one repetition to the next, so neither a cold cache nor drift favours one. Both
 *    sides drain the body without hashing it: the figure is the transport's, not the client's CPU.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Row } from './lib/report.ts';
import { compare } from './lib/report.ts';
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

const RANGES = 8;

function ranges(size: number): { start: number; end: number }[] {
  const step = Math.ceil(size / RANGES);
  return Array.from({ length: RANGES }, (_, i) => ({ start: i * step, end: Math.min(size, (i + 1) * step) - 1 }));
}

async function drain(body: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of body) bytes += (chunk as Buffer).length;
  return bytes;
}

type Mode = 'redirect' | 'proxy';
type Get = (range?: { start: number; end: number }) => Promise<number>;

export async function benchDownloads({ target, url, user, fileId, size, reps }: DownloadBenchOptions): Promise<Row[]> {
  const s3 = directS3();
  const auth = { authorization: `Bearer ${user.token}` };
  const content = `${url}/files/${fileId}/content`;
  /** The server follows the routing file within a poll interval: wait until it answers in `mode`. */
  const switchTo = async (mode: Mode) => {
    target.setDownloads(mode);
    for (let i = 0; i < 100; i++) {
      const res = await drainGet(content, { ...auth, range: 'bytes=0-0' });
      if (res.redirected === (mode === 'redirect')) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the server never switched downloads to ${mode}`);
  };
  const stratus = (mode: Mode): Get => async (range) => {
    const res = await drainGet(content, range ? { ...auth, range: `bytes=${range.start}-${range.end}` } : auth);
    if (res.status !== (range ? 206 : 200)) throw new Error(`download answered ${res.status}`);
    if (res.redirected !== (mode === 'redirect')) throw new Error(`download in ${mode} mode was ${res.redirected ? '' : 'not '}redirected`);
    return res.bytes;
  };
  await switchTo('redirect');
  const location = await redirectLocation(content, auth);
  if (!location) throw new Error('redirect mode gave no Location');
  // Path-style presigned URL: /<bucket>/<key>.
  const storageKey = decodeURIComponent(new URL(location).pathname.slice(`/${s3.bucket}/`.length));
  const direct: Get = async (range) => {
    const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: storageKey, Range: range ? `bytes=${range.start}-${range.end}` : undefined }));
    return drain(out.Body as Readable);
  };
  const variants: [string, Mode | null, Get][] = [
    ['redirect', 'redirect', stratus('redirect')],
    ['proxy', 'proxy', stratus('proxy')],
    ['direct', null, direct],
  ];
  const samples = new Map<string, number[]>();
  /** Per repetition, each Stratus figure over the direct one measured next to it. */
  const ratios = new Map<string, number[]>();
  const add = (map: Map<string, number[]>, id: string, value: number) => map.set(id, [...(map.get(id) ?? []), round(value, 3)]);
  try {
    for (const [, mode, get] of variants) {
      if (mode) await switchTo(mode);
      await get();
    }
    for (let rep = 0; rep < reps; rep++) {
      // The three variants of one shape run back to back, in an order that rotates, so that the
      // cluster's slow drift (disk, RGW garbage collection) hits them alike; the ratio is taken
      // within the repetition.
      const order = variants.map((_, i) => variants[(i + rep) % variants.length]!);
      for (const shape of ['whole', 'ranges'] as const) {
        const got = new Map<string, number>();
        for (const [name, mode, get] of order) {
          if (mode) await switchTo(mode);
          const started = performance.now();
          const counts = shape === 'whole' ? [await get()] : await Promise.all(ranges(size).map((r) => get(r)));
          const ms = performance.now() - started;
          const bytes = counts.reduce((a, b) => a + b, 0);
          if (bytes !== size) throw new Error(`${name} ${shape} download gave ${bytes} of ${size} bytes`);
          got.set(name, mibPerSecond(size, ms));
          add(samples, `${name}.${shape}`, mibPerSecond(size, ms));
        }
        const direct = got.get('direct') ?? Number.NaN;
        for (const name of ['redirect', 'proxy']) add(ratios, `${name}.${shape}`, (got.get(name) ?? Number.NaN) / direct);
      }
      log(`download rep ${rep + 1}/${reps}: ${[...samples].map(([k, v]) => `${k} ${round(v.at(-1) ?? 0)}`).join(', ')} MiB/s`);
    }
  } finally {
    s3.client.destroy();
    target.setDownloads('proxy');
  }
  const m = (id: string) => round(median(samples.get(id) ?? []));
  const r = (id: string) => round(median(ratios.get(id) ?? []), 2);
  return (['whole', 'ranges'] as const).flatMap((shape) => {
    const label = shape === 'whole' ? 'whole' : `${RANGES} parallel ranges`;
    const reference = { label: `direct GET ${label}`, value: m(`direct.${shape}`) };
    const paired = (name: string) => `ratio: median of ${reps} paired (${(ratios.get(`${name}.${shape}`) ?? []).map((x) => x.toFixed(2)).join(' ')})`;
    const redirect = compare(
      { id: `download.stratus.${shape}`, label: `download ${sizeLabel(size)} Stratus (redirect), ${label}`, value: m(`redirect.${shape}`), unit: 'MiB/s', target: '≥0.9× direct', note: `302 to a presigned URL, followed; ${paired('redirect')}`, samples: samples.get(`redirect.${shape}`) ?? [] },
      reference,
    );
    // The ratio shown is the median of the paired ratios: robust to drift that medians of the
    // three columns taken apart are not.
    redirect.ratio = r(`redirect.${shape}`);
    redirect.met = redirect.ratio >= 0.9;
    const proxy = compare(
      { id: `download.proxy.${shape}`, label: `download ${sizeLabel(size)} Stratus (proxy), ${label}`, value: m(`proxy.${shape}`), unit: 'MiB/s', note: `bytes through the server; ${paired('proxy')}`, samples: samples.get(`proxy.${shape}`) ?? [] },
      reference,
    );
    proxy.ratio = r(`proxy.${shape}`);
    const directRow: Row = { id: `download.direct.${shape}`, label: `download ${sizeLabel(size)} direct RGW, ${label}`, value: m(`direct.${shape}`), unit: 'MiB/s', note: 'S3 GetObject stream', samples: samples.get(`direct.${shape}`) ?? [] };
    return [redirect, proxy, directRow];
  });
}
