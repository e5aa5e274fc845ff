/**
 * 2. Download throughput of one 1 GiB file: `GET /files/{id}/content` against a GetObject of the
 *    same bytes stored straight in the bucket, whole and as 8 parallel ranges. Both sides drain the body without
 *    hashing it, so the figure is the transport's, not the client's CPU.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Row } from './lib/report.ts';
import { compare } from './lib/report.ts';
import { directS3, log } from './lib/stack.ts';
import { median, mibPerSecond, round, sizeLabel } from './lib/stats.ts';
import { drainGet } from './lib/stratus.ts';
import type { User } from './lib/target.ts';

export interface DownloadBenchOptions {
  url: string;
  user: User;
  fileId: string;
  storageKey: string;
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

export async function benchDownloads({ url, user, fileId, storageKey, size, reps }: DownloadBenchOptions): Promise<Row[]> {
  const s3 = directS3();
  const auth = { authorization: `Bearer ${user.token}` };
  const content = `${url}/files/${fileId}/content`;
  const stratus = async (range?: { start: number; end: number }) => {
    const res = await drainGet(content, range ? { ...auth, range: `bytes=${range.start}-${range.end}` } : auth);
    if (res.status !== (range ? 206 : 200)) throw new Error(`download answered ${res.status}`);
    return res.bytes;
  };
  const direct = async (range?: { start: number; end: number }) => {
    const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: storageKey, Range: range ? `bytes=${range.start}-${range.end}` : undefined }));
    return drain(out.Body as Readable);
  };
  const variants: Record<string, (range?: { start: number; end: number }) => Promise<number>> = { stratus, direct };
  const samples = new Map<string, number[]>();
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const [name, get] of Object.entries(variants)) {
        for (const mode of ['whole', 'ranges'] as const) {
          const started = performance.now();
          const counts = mode === 'whole' ? [await get()] : await Promise.all(ranges(size).map((r) => get(r)));
          const ms = performance.now() - started;
          const bytes = counts.reduce((a, b) => a + b, 0);
          if (bytes !== size) throw new Error(`${name} ${mode} download gave ${bytes} of ${size} bytes`);
          const id = `${name}.${mode}`;
          samples.set(id, [...(samples.get(id) ?? []), round(mibPerSecond(size, ms))]);
        }
      }
      log(`download rep ${rep + 1}/${reps}: ${[...samples].map(([k, v]) => `${k} ${v.at(-1)}`).join(', ')} MiB/s`);
    }
  } finally {
    s3.client.destroy();
  }
  const m = (id: string) => round(median(samples.get(id) ?? []));
  return (['whole', 'ranges'] as const).flatMap((mode) => {
    const label = mode === 'whole' ? 'whole' : `${RANGES} parallel ranges`;
    const row = compare(
      { id: `download.stratus.${mode}`, label: `download ${sizeLabel(size)} Stratus, ${label}`, value: m(`stratus.${mode}`), unit: 'MiB/s', target: '≥0.9× direct', samples: samples.get(`stratus.${mode}`) ?? [] },
      { label: `direct GET ${label}`, value: m(`direct.${mode}`) },
    );
    row.met = (row.ratio ?? 0) >= 0.9;
    const directRow: Row = { id: `download.direct.${mode}`, label: `download ${sizeLabel(size)} direct RGW, ${label}`, value: m(`direct.${mode}`), unit: 'MiB/s', note: 'S3 GetObject stream', samples: samples.get(`direct.${mode}`) ?? [] };
    return [row, directRow];
  });
}
