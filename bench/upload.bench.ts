/**
 * 1. Upload throughput of one 1 GiB file, 8 MiB chunks/parts, three ways in the same repetition
 *    over the same bytes:
 *    - Stratus: the CLI's client library (`uploadFile`: hash, session, parallel chunk PUTs with
 *      Content-Digest, complete), 1, 4 and 8 chunks in flight, instant upload off;
 *    - the limit: @aws-sdk/lib-storage `Upload` straight to RGW, same part size and concurrency;
 *    - the peer: tus-js-client → @tus/server + @tus/s3-store, 8 MiB PATCHes and one PATCH.
 *    Each repetition uses a new seed, so no content is ever known to Stratus (no dedup), and
 *    everything written is deleted and garbage-collected before the next.
 */
import { createReadStream } from 'node:fs';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload as S3Upload } from '@aws-sdk/lib-storage';
import { Upload as TusUpload } from 'tus-js-client';
import { uploadFile } from '../cli/lib/upload.ts';
import type { Row } from './lib/report.ts';
import { compare } from './lib/report.ts';
import { deleteObjects, describeDisk, directS3, log, rgwGc, tempFile } from './lib/stack.ts';
import { median, mibPerSecond, MiB, round, sizeLabel } from './lib/stats.ts';
import { removeFile } from './lib/stratus.ts';
import type { User } from './lib/target.ts';
import { startTusServer } from './tus-server.ts';

export const PARALLEL = [1, 4, 8] as const;
const CHUNK = 8 * MiB;

export interface UploadBenchOptions {
  user: User;
  size: number;
  reps: number;
}

type S3 = ReturnType<typeof directS3>;

async function objectSize(s3: S3, key: string): Promise<number> {
  return (await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }))).ContentLength ?? -1;
}

async function stratusOnce(user: User, file: string, size: number, name: string, parallel: number): Promise<{ ms: number; transferMs: number }> {
  const started = performance.now();
  let sessionAt = started;
  const result = await uploadFile(user.api, file, { name, parallel, chunkSize: CHUNK, noInstant: true, onSession: () => (sessionAt = performance.now()) });
  const ended = performance.now();
  const stored = result.session.file;
  if (result.session.status !== 'COMPLETED' || result.instant || stored?.size !== size) throw new Error(`Stratus upload ${name} did not complete: ${JSON.stringify(result.session)}`);
  await removeFile(user.api, stored.id);
  // The OSD holds only ~9.5 GiB: free every GiB before the next is written.
  await rgwGc();
  return { ms: ended - started, transferMs: ended - sessionAt };
}

async function directOnce(s3: S3, file: string, size: number, key: string, parallel: number): Promise<number> {
  const started = performance.now();
  await new S3Upload({ client: s3.client, params: { Bucket: s3.bucket, Key: key, Body: createReadStream(file) }, partSize: CHUNK, queueSize: parallel }).done();
  const ms = performance.now() - started;
  if ((await objectSize(s3, key)) !== size) throw new Error(`direct upload ${key} has the wrong size`);
  await deleteObjects(s3, [key]);
  await rgwGc();
  return ms;
}

async function tusOnce(s3: S3, tus: Awaited<ReturnType<typeof startTusServer>>, file: string, size: number, name: string, chunkSize: number): Promise<number> {
  const started = performance.now();
  const url = await new Promise<string>((resolve, reject) => {
    // An fs.ReadStream with a path is read by tus-js-client as a file (slices by offset), which
    // is what allows an unbounded chunkSize: one PATCH carrying the whole file.
    const upload = new TusUpload(createReadStream(file), {
      endpoint: tus.endpoint,
      chunkSize,
      uploadSize: size,
      metadata: { filename: name },
      storeFingerprintForResuming: false,
      retryDelays: [],
      onError: reject,
      onSuccess: () => (upload.url ? resolve(upload.url) : reject(new Error('tus upload has no URL'))),
    });
    upload.start();
  });
  const ms = performance.now() - started;
  const [key, info] = tus.keysOf(url) as [string, string];
  if ((await objectSize(s3, key)) !== size) throw new Error(`tus upload ${key} has the wrong size`);
  await deleteObjects(s3, [key, info]);
  await rgwGc();
  return ms;
}

export async function benchUploads({ user, size, reps }: UploadBenchOptions): Promise<Row[]> {
  const s3 = directS3();
  const tus = await startTusServer();
  const samples = new Map<string, number[]>();
  const add = (id: string, value: number) => samples.set(id, [...(samples.get(id) ?? []), round(value)]);
  const ratios = new Map<string, number[]>();
  try {
    for (let rep = 0; rep < reps; rep++) {
      const seed = `bench-upload-${rep}-${Date.now()}`;
      const { file, remove } = await tempFile(`upload-${rep}.bin`, size, seed);
      try {
        for (const p of PARALLEL) {
          const s = await stratusOnce(user, file, size, `${seed}-p${p}.bin`, p);
          add(`stratus.p${p}`, mibPerSecond(size, s.ms));
          add(`stratus.p${p}.transfer`, mibPerSecond(size, s.transferMs));
          const direct = mibPerSecond(size, await directOnce(s3, file, size, `bench/${seed}-p${p}`, p));
          add(`direct.p${p}`, direct);
          // Paired: the two uploads ran back to back, so the cluster's slow drift hits both alike.
          ratios.set(`p${p}`, [...(ratios.get(`p${p}`) ?? []), mibPerSecond(size, s.ms) / direct]);
          log(`upload rep ${rep + 1}/${reps} parallel ${p}: stratus ${samples.get(`stratus.p${p}`)?.at(-1)} MiB/s, direct ${samples.get(`direct.p${p}`)?.at(-1)} MiB/s`);
        }
        add('tus.chunk8', mibPerSecond(size, await tusOnce(s3, tus, file, size, `${seed}-tus8.bin`, CHUNK)));
        add('tus.single', mibPerSecond(size, await tusOnce(s3, tus, file, size, `${seed}-tus1.bin`, Number.POSITIVE_INFINITY)));
        log(`upload rep ${rep + 1}/${reps} tus: 8 MiB PATCHes ${samples.get('tus.chunk8')?.at(-1)} MiB/s, one PATCH ${samples.get('tus.single')?.at(-1)} MiB/s`);
      } finally {
        remove();
      }
      await rgwGc();
      log(`upload rep ${rep + 1}/${reps} done; ${await describeDisk()}`);
    }
  } finally {
    await tus.close();
    s3.client.destroy();
  }

  const m = (id: string) => round(median(samples.get(id) ?? []));
  const tusBest = Math.max(m('tus.chunk8'), m('tus.single'));
  const rows: Row[] = [];
  for (const p of PARALLEL) {
    const value = m(`stratus.p${p}`);
    const row = compare(
      { id: `upload.stratus.p${p}`, label: `upload ${sizeLabel(size)} Stratus, ${p} parallel`, value, unit: 'MiB/s', target: '≥0.9× direct', samples: samples.get(`stratus.p${p}`) ?? [] },
      { label: `direct ${p} parallel`, value: m(`direct.p${p}`) },
    );
    const paired = ratios.get(`p${p}`) ?? [];
    // Shown: the median of the paired ratios, robust to drift that the medians taken apart are not.
    row.ratio = round(median(paired), 2);
    row.met = row.ratio >= 0.9;
    row.note = `ratio: median of ${paired.length} paired (${paired.map((x) => x.toFixed(2)).join(' ')}); ${round(value / tusBest, 2)}× tus best; transfer after hashing ${m(`stratus.p${p}.transfer`)} MiB/s`;
    rows.push(row);
  }
  for (const p of PARALLEL) {
    rows.push({ id: `upload.direct.p${p}`, label: `upload ${sizeLabel(size)} direct RGW, ${p} parallel`, value: m(`direct.p${p}`), unit: 'MiB/s', note: 'lib-storage Upload, the limit', samples: samples.get(`direct.p${p}`) ?? [] });
  }
  rows.push({ id: 'upload.tus.chunk8', label: `upload ${sizeLabel(size)} @tus/server, 8 MiB PATCHes`, value: m('tus.chunk8'), unit: 'MiB/s', note: 'tus-js-client, sequential', samples: samples.get('tus.chunk8') ?? [] });
  rows.push({ id: 'upload.tus.single', label: `upload ${sizeLabel(size)} @tus/server, one PATCH`, value: m('tus.single'), unit: 'MiB/s', note: 'tus-js-client chunkSize Infinity', samples: samples.get('tus.single') ?? [] });
  rows.push(...againstTus(samples, sizeLabel(size), m, tusBest));
  return rows;
}

/**
 * Stratus against tus, per repetition (both measured in it), median of the paired ratios:
 * - best against best: Stratus at its fastest parallelism against tus in its fastest mode (one
 *   PATCH, which @tus/s3-store turns into up to 60 part uploads at once) — the target;
 * - the same shape: one 8 MiB request at a time (Stratus 1 in flight, tus 8 MiB PATCHes).
 */
function againstTus(samples: Map<string, number[]>, size: string, m: (id: string) => number, tusBest: number): Row[] {
  const at = (id: string, rep: number) => samples.get(id)?.[rep] ?? Number.NaN;
  const reps = samples.get('tus.single')?.length ?? 0;
  const best = (prefix: string, ids: string[], rep: number) => Math.max(...ids.map((id) => at(`${prefix}${id}`, rep)));
  const stratusIds = PARALLEL.map((p) => `p${p}`);
  const pairs = Array.from({ length: reps }, (_, rep) => best('stratus.', stratusIds, rep) / best('tus.', ['chunk8', 'single'], rep));
  const shape = Array.from({ length: reps }, (_, rep) => at('stratus.p1', rep) / at('tus.chunk8', rep));
  const stratusBest = Math.max(...stratusIds.map((id) => m(`stratus.${id}`)));
  const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  return [
    {
      id: 'upload.vs-tus.best', label: `upload ${size} Stratus best vs @tus/server best`, value: stratusBest, unit: 'MiB/s',
      reference: { label: 'tus best', value: tusBest }, ratio: round(median(pairs), 2), target: '> tus', met: median(pairs) > 1,
      note: `per repetition, fastest Stratus parallelism / fastest tus mode; median of ${pairs.length} paired (${list(pairs)})`,
    },
    {
      id: 'upload.vs-tus.sequential', label: `upload ${size} one 8 MiB request at a time, Stratus vs tus`, value: m('stratus.p1'), unit: 'MiB/s',
      reference: { label: 'tus 8 MiB PATCHes', value: m('tus.chunk8') }, ratio: round(median(shape), 2),
      note: `Stratus 1 in flight / tus-js-client chunkSize 8 MiB; median of ${shape.length} paired (${list(shape)})`,
    },
  ];
}
