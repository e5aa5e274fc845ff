/**
 * The file-size mix of the ownCloud/OpenCloud load model (`cdperf`): 84 % of files under 1 MB,
 * 12.5 % of 1–10 MB, 3 % of 10–100 MB, 0.8 % above 100 MB, as temp files on disk. Deterministic:
 * the same seed gives the same sizes, names, order and bytes (AES-CTR keystream of the seed), so
 * every system in a run uploads the very same files.
 *
 * Counts are the shares of `files`, rounded (2 000 → 1 680 / 250 / 60 / 16). Sizes are
 * log-uniform within a bucket (as many files of 1–2 KB as of 500 KB–1 MB); the two upper buckets
 * are drawn from their lower part (10–25 MB, 100–110 MB) so that a run stays within minutes and
 * within the Ceph OSD's 9.5 GiB: their bytes dominate the total anyway (the 16 files above 100 MB
 * alone are 1.6 GB), and per-file costs are what this mix is about.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';

const MB = 1_000_000;

export const BUCKETS = [
  { label: '<1 MB', share: 0.84, min: 1_000, max: MB, ext: ['txt', 'jpg', 'pdf', 'docx', 'png', 'json', 'md', 'xlsx'] },
  { label: '1–10 MB', share: 0.125, min: MB, max: 10 * MB, ext: ['jpg', 'pdf', 'mp3', 'pptx'] },
  { label: '10–100 MB', share: 0.03, min: 10 * MB, max: 25 * MB, ext: ['mp4', 'zip'] },
  { label: '>100 MB', share: 0.008, min: 100 * MB, max: 110 * MB, ext: ['mkv', 'iso'] },
] as const;

export interface MixFile {
  path: string;
  name: string;
  size: number;
  bucket: number;
}

export interface FileMix {
  dir: string;
  files: MixFile[];
  bytes: number;
  remove(): void;
}

/** mulberry32: a small seeded PRNG, enough for sizes and order. */
function prng(seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The sizes and names, shuffled (so every slice of the list holds the mix). */
export function planMix(files: number, seed: string): Omit<MixFile, 'path'>[] {
  const random = prng(seed);
  const plan: Omit<MixFile, 'path'>[] = [];
  BUCKETS.forEach((b, bucket) => {
    const count = Math.round(files * b.share);
    for (let i = 0; i < count; i++) {
      const size = Math.floor(b.min * (b.max / b.min) ** random());
      plan.push({ name: `f${String(plan.length).padStart(5, '0')}.${b.ext[i % b.ext.length] ?? 'bin'}`, size, bucket });
    }
  });
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j] as (typeof plan)[number], plan[i] as (typeof plan)[number]];
  }
  return plan;
}

/** Writes the mix to a temp dir, streamed (1 MiB at a time), and a remover for it. */
export async function writeMix(files: number, seed: string): Promise<FileMix> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stratus-mix-'));
  const out: MixFile[] = [];
  let bytes = 0;
  for (const f of planMix(files, seed)) {
    const file = path.join(dir, f.name);
    const key = createHash('sha256').update(`${seed}:${f.name}`).digest();
    const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    const stream = createWriteStream(file);
    const zeros = Buffer.alloc(1024 * 1024);
    for (let offset = 0; offset < f.size; offset += zeros.length) {
      if (!stream.write(cipher.update(zeros.subarray(0, Math.min(zeros.length, f.size - offset))))) await once(stream, 'drain');
    }
    stream.end();
    await once(stream, 'finish');
    out.push({ ...f, path: file });
    bytes += f.size;
  }
  return { dir, files: out, bytes, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
