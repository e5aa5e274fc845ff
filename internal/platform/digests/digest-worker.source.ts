/**
 * The digest worker's code, run with `new Worker(source, { eval: true })`: plain JavaScript with
 * no imports of ours, so it runs the same under tsx, from the built image and inside tests,
 * without a loader or a path to a compiled file.
 *
 * Per job: SHA-256 of each `blockSize` bytes and MD5 of everything. A segment is acknowledged as
 * soon as it is hashed, so the event loop can refill it.
 */
export type ToWorker =
  | { type: 'begin'; job: number; blockSize: number }
  | { type: 'data'; job: number; segment: SharedArrayBuffer; length: number }
  | { type: 'end'; job: number };

export type FromWorker =
  | { type: 'ack'; job: number; segment: SharedArrayBuffer }
  | { type: 'done'; job: number; md5: Uint8Array; blocks: Uint8Array[] };

export const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'begin') {
    jobs.set(m.job, { blockSize: m.blockSize, md5: createHash('md5'), block: createHash('sha256'), inBlock: 0, blocks: [] });
    return;
  }
  const s = jobs.get(m.job);
  if (m.type === 'data') {
    if (s) {
      const data = new Uint8Array(m.segment, 0, m.length);
      s.md5.update(data);
      let at = 0;
      while (at < data.length) {
        const take = Math.min(s.blockSize - s.inBlock, data.length - at);
        s.block.update(data.subarray(at, at + take));
        s.inBlock += take;
        at += take;
        if (s.inBlock === s.blockSize) {
          s.blocks.push(s.block.digest());
          s.block = createHash('sha256');
          s.inBlock = 0;
        }
      }
    }
    parentPort.postMessage({ type: 'ack', job: m.job, segment: m.segment });
    return;
  }
  if (m.type === 'end') {
    jobs.delete(m.job);
    if (!s) return parentPort.postMessage({ type: 'done', job: m.job, md5: new Uint8Array(16), blocks: [] });
    if (s.inBlock > 0) s.blocks.push(s.block.digest());
    parentPort.postMessage({ type: 'done', job: m.job, md5: s.md5.digest(), blocks: s.blocks });
  }
});
`;
