/**
 * 4. Instant upload (秒传) of a 1 GiB file whose content Stratus already stores: the time from
 *    createUpload to COMPLETED, proof included (the client reads and hashes the challenge's
 *    ranges). The content hash is the client's work before the upload and is computed once,
 *    untimed. Every run is a new name, so the "same file here already" shortcut never applies.
 *
 *    Stratus allows 30 ownership proofs per person per minute, so the runs are spread over
 *    several people (25 each); instant upload works across people (the blob is shared).
 */
import { SESSION_FIELDS, type SessionView } from '../cli/lib/api.ts';
import { challengeProofs } from '../cli/lib/hash.ts';
import type { Row } from './lib/report.ts';
import { log } from './lib/stack.ts';
import { percentile, round, sizeLabel } from './lib/stats.ts';
import type { Target, User } from './lib/target.ts';

export interface InstantBenchOptions {
  target: Target;
  file: string;
  size: number;
  contentHash: string;
  runs: number;
}

const RUNS_PER_PERSON = 25;

async function instantOnce(user: User, file: string, size: number, contentHash: string, name: string): Promise<{ create: number; total: number }> {
  const started = performance.now();
  const created = (await user.api.gql<{ createUpload: SessionView }>(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: { name, size, contentHash } })).createUpload;
  const createdAt = performance.now();
  if (!created.challenge) throw new Error('createUpload with a contentHash gave no challenge');
  const proofs = await challengeProofs(file, created.challenge.nonce, created.challenge.ranges);
  const proved = (await user.api.gql<{ proveOwnership: SessionView }>(`mutation($id: ID!, $p: [String!]!) { proveOwnership(sessionId: $id, proofs: $p) { ${SESSION_FIELDS} } }`, { id: created.id, p: proofs })).proveOwnership;
  const total = performance.now() - started;
  if (proved.status !== 'COMPLETED') throw new Error(`instant upload ${name} ended ${proved.status}`);
  return { create: createdAt - started, total };
}

export async function benchInstant({ target, file, size, contentHash, runs }: InstantBenchOptions): Promise<Row[]> {
  const totals: number[] = [];
  const creates: number[] = [];
  let user = await target.signUp();
  // Warm-up (connections, prepared paths): not counted.
  await instantOnce(user, file, size, contentHash, 'instant-warmup.bin');
  for (let run = 0; run < runs; run++) {
    if (run % RUNS_PER_PERSON === 0) user = await target.signUp();
    const r = await instantOnce(user, file, size, contentHash, `instant-${run}.bin`);
    totals.push(round(r.total, 2));
    creates.push(round(r.create, 2));
  }
  const p50 = round(percentile(totals, 50));
  const p99 = round(percentile(totals, 99));
  log(`instant: p50 ${p50} ms, p99 ${p99} ms over ${runs} runs`);
  return [
    { id: 'instant.p50', label: `instant upload ${sizeLabel(size)}, p50 of ${runs}`, value: p50, unit: 'ms', note: `createUpload alone p50 ${round(percentile(creates, 50))} ms`, samples: totals },
    { id: 'instant.p99', label: `instant upload ${sizeLabel(size)}, p99 of ${runs}`, value: p99, unit: 'ms', target: '< 100 ms', met: p99 < 100, note: `createUpload alone p99 ${round(percentile(creates, 99))} ms` },
  ];
}
