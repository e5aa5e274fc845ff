/**
 * tus (issue 20 item 4): the same client, tus-js-client 4 in Node, uploading the same bytes into
 * Stratus's `/tus/` and into the peer, @tus/server + @tus/s3-store on the same RGW bucket (its own
 * process, bench/tus-server.ts), in the same repetition, in tus-js-client's two shapes:
 * - one request for the whole file (its default, chunkSize Infinity);
 * - 8 MiB PATCHes, one after the other (chunkSize 8 MiB).
 * Per repetition and shape the two servers run back to back (which goes first alternates), so the
 * cluster's drift hits both alike; the row's ratio is the median of the paired ratios. Beside the
 * throughput: each server's CPU seconds per GiB during its uploads (/proc/<pid>/stat), which stays
 * fair on a busy machine where wall-clock time does not.
 * Each repetition uses a new seed (nothing known to Stratus: no dedup), and everything written is
 * deleted and garbage-collected in RGW before the next upload.
 */
import { createReadStream } from 'node:fs';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from 'tus-js-client';
import { cpuSecondsPerGiB, measureCpu } from './lib/cpu.ts';
import type { Row } from './lib/report.ts';
import { deleteObjects, describeDisk, directS3, log, rgwGc, tempFile } from './lib/stack.ts';
import { median, mibPerSecond, MiB, round, sizeLabel } from './lib/stats.ts';
import { removeFile } from './lib/stratus.ts';
import type { Target, User } from './lib/target.ts';
import { startTusServer, type TusServer } from './tus-server.ts';

export const TUS_MODES = [
  { id: 'single', label: 'one request', chunkSize: Number.POSITIVE_INFINITY },
  { id: 'chunk8', label: '8 MiB PATCHes', chunkSize: 8 * MiB },
] as const;
type Mode = (typeof TUS_MODES)[number];
type Server = 'stratus' | 'peer';

export interface TusBenchOptions {
  target: Target;
  user: User;
  size: number;
  reps: number;
}

interface Measured {
  ms: number;
  /** The server's CPU seconds (its own process) from the first request to the last answer. */
  cpu: number;
}

/** One tus-js-client upload, timed from `start()` to `onSuccess` (the final PATCH's 204). */
async function tusClient(endpoint: string, headers: Record<string, string>, file: string, size: number, name: string, mode: Mode, serverPid: number): Promise<Measured & { url: string }> {
  const cpu = measureCpu(serverPid);
  const started = performance.now();
  const url = await new Promise<string>((resolve, reject) => {
    // An fs.ReadStream with a path is read as a file (slices by offset): chunkSize Infinity then
    // sends the whole file in one PATCH, as tus-js-client does by default.
    const upload = new Upload(createReadStream(file), {
      endpoint, headers, chunkSize: mode.chunkSize, uploadSize: size, metadata: { filename: name },
      storeFingerprintForResuming: false, retryDelays: [],
      onError: reject,
      onSuccess: () => (upload.url ? resolve(upload.url) : reject(new Error('tus upload has no URL'))),
    });
    upload.start();
  });
  const ms = performance.now() - started;
  return { ms, cpu: cpu.stop(), url };
}

async function stratusOnce(o: TusBenchOptions, file: string, name: string, mode: Mode): Promise<Measured> {
  const m = await tusClient(`${o.target.url}/tus/`, { Authorization: `Bearer ${o.user.token}` }, file, o.size, name, mode, o.target.pid);
  const found = await o.user.api.gql<{ folder: { children: { edges: { node: { id: string; name: string; size: number } }[] } } }>(
    '{ folder { children(first: 100) { edges { node { id name size } } } } }',
  );
  const stored = found.folder.children.edges.map((e) => e.node).find((n) => n.name === name);
  if (stored?.size !== o.size) throw new Error(`Stratus tus upload ${name} did not make a ${o.size}-byte file`);
  await removeFile(o.user.api, stored.id);
  await rgwGc();
  return m;
}

async function peerOnce(s3: ReturnType<typeof directS3>, tus: TusServer, size: number, file: string, name: string, mode: Mode): Promise<Measured> {
  const m = await tusClient(tus.endpoint, {}, file, size, name, mode, tus.pid);
  const [key, info] = tus.keysOf(m.url) as [string, string];
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
  if (head.ContentLength !== size) throw new Error(`@tus/server upload ${key} has the wrong size`);
  await deleteObjects(s3, [key, info]);
  await rgwGc();
  return m;
}

type Samples = Map<string, number[]>;

export async function benchTus(o: TusBenchOptions): Promise<Row[]> {
  const s3 = directS3();
  const tus = await startTusServer();
  const samples: Samples = new Map();
  const add = (id: string, value: number) => samples.set(id, [...(samples.get(id) ?? []), round(value, 2)]);
  try {
    for (let rep = 0; rep < o.reps; rep++) {
      const seed = `bench-tus-${rep}-${Date.now()}`;
      const { file, remove } = await tempFile(`tus-${rep}.bin`, o.size, seed);
      try {
        for (const mode of TUS_MODES) {
          // Alternate who goes first, so neither always meets a cluster still settling the other's GC.
          const order: Server[] = rep % 2 === 0 ? ['stratus', 'peer'] : ['peer', 'stratus'];
          for (const server of order) {
            const name = `${seed}-${server}-${mode.id}.bin`;
            const m = server === 'stratus' ? await stratusOnce(o, file, name, mode) : await peerOnce(s3, tus, o.size, file, name, mode);
            add(`${server}.${mode.id}`, mibPerSecond(o.size, m.ms));
            add(`${server}.${mode.id}.cpu`, cpuSecondsPerGiB(m.cpu, o.size));
          }
          const last = (id: string) => samples.get(id)?.at(-1);
          log(`tus rep ${rep + 1}/${o.reps} ${mode.label}: Stratus ${last(`stratus.${mode.id}`)} MiB/s (${last(`stratus.${mode.id}.cpu`)} CPU s/GiB), @tus/server ${last(`peer.${mode.id}`)} MiB/s (${last(`peer.${mode.id}.cpu`)} CPU s/GiB)`);
        }
      } finally {
        remove();
      }
      log(`tus rep ${rep + 1}/${o.reps} done; ${await describeDisk()}`);
    }
  } finally {
    await tus.close();
    s3.client.destroy();
  }
  return TUS_MODES.flatMap((mode) => rowsOf(samples, mode, sizeLabel(o.size)));
}

const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');

/** The rows of one shape: Stratus against the peer (paired), the peer alone, and CPU s/GiB. */
function rowsOf(samples: Samples, mode: Mode, size: string): Row[] {
  const get = (id: string) => samples.get(id) ?? [];
  const m = (id: string) => round(median(get(id)), 1);
  const peer = get(`peer.${mode.id}`);
  const paired = get(`stratus.${mode.id}`).map((v, rep) => v / (peer[rep] ?? Number.NaN));
  const cpuPaired = get(`stratus.${mode.id}.cpu`).map((v, rep) => v / (get(`peer.${mode.id}.cpu`)[rep] ?? Number.NaN));
  const ratio = round(median(paired), 2);
  return [
    {
      id: `tus.stratus.${mode.id}`, label: `tus-js-client ${size} into Stratus /tus/, ${mode.label}`, value: m(`stratus.${mode.id}`), unit: 'MiB/s',
      reference: { label: `@tus/server ${mode.label}`, value: m(`peer.${mode.id}`) }, ratio, target: '≥1.0× @tus/server', met: ratio >= 1,
      note: `ratio: median of ${paired.length} paired (${list(paired)}); lowest ${Math.min(...paired).toFixed(2)}`,
      samples: get(`stratus.${mode.id}`),
    },
    {
      id: `tus.peer.${mode.id}`, label: `tus-js-client ${size} into @tus/server + @tus/s3-store, ${mode.label}`, value: m(`peer.${mode.id}`), unit: 'MiB/s',
      note: 'the peer, same RGW bucket, 8 MiB parts', samples: peer,
    },
    {
      id: `tus.cpu.${mode.id}`, label: `tus ${mode.label}: server CPU per GiB, Stratus vs @tus/server`, value: round(median(get(`stratus.${mode.id}.cpu`)), 2), unit: 's/GiB',
      reference: { label: '@tus/server', value: round(median(get(`peer.${mode.id}.cpu`)), 2) }, ratio: round(median(cpuPaired), 2),
      note: `lower is better; server process user+sys from /proc; Stratus ${list(get(`stratus.${mode.id}.cpu`))}, @tus/server ${list(get(`peer.${mode.id}.cpu`))}`,
      samples: get(`stratus.${mode.id}.cpu`),
    },
  ];
}
