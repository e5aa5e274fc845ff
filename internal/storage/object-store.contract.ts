/**
 * The one behaviour suite every ObjectStore driver passes. A driver's test file calls
 * `objectStoreContract('ceph', async () => ({ store, cleanup }))`; the suite writes only under a
 * fresh prefix (`contract/<name>/<run>/`) and deletes what it wrote, aborting open uploads.
 *
 * Rules this suite pins down beyond the comments in `object-store.ts`:
 * - Ranges (RFC 9110 §14.1.2): `start`/`end` are integers with 0 <= start <= end, else BAD_INPUT
 *   'invalid-range'. "A range is unsatisfiable if first-pos >= length": start >= size (including
 *   any range on an empty object) is BAD_INPUT 'range-not-satisfiable'. An end at or beyond the
 *   size is clamped to size - 1 ("interpreted as the remainder of the representation"), and
 *   `contentLength` says how many bytes came.
 * - A body shorter or longer than the declared size (put or uploadPart) is BAD_INPUT
 *   'size-mismatch' and changes nothing: a previous object or part of that name stays as it was.
 * - completeMultipart refuses (BAD_INPUT, upload left open) an empty list ('no-parts'), parts not
 *   in ascending order ('part-order'), an unknown part or wrong etag ('invalid-part') and a part
 *   other than the last below `capabilities.minPartSize` ('part-too-small').
 * - After abort the upload is gone: listParts, uploadPart, completeMultipart and a second abort
 *   are NOT_FOUND. After complete, listParts is NOT_FOUND (a repeated complete with the same parts
 *   may succeed again, as S3 and RGW allow, so it is not pinned down).
 * - ETags are bare (no quotes). put's etag equals head's and get's.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../platform/errors.ts';
import type { ObjectStore, PartInfo } from './object-store.ts';
import { bodyOf, collect, pseudoRandom } from './test-bytes.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface ContractOptions {
  /** Size of the big-object test (default 1 GiB). */
  bigObjectBytes?: number;
}

export function objectStoreContract(
  name: string,
  setup: () => Promise<{ store: ObjectStore; cleanup?: () => Promise<void> }>,
  options: ContractOptions = {},
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let cleanup: (() => Promise<void>) | undefined;
    const prefix = `contract/${name}/${Date.now().toString(36)}-${randomBytes(4).toString('hex')}/`;
    const written = new Set<string>();
    const key = (suffix: string) => {
      written.add(prefix + suffix);
      return prefix + suffix;
    };
    /** A part size every store accepts for all but the last part. */
    const partSize = () => Math.max(store.capabilities.minPartSize, 64 * KiB);

    beforeAll(async () => {
      ({ store, cleanup } = await setup());
    });

    afterAll(async () => {
      if (!store) return;
      try {
        for (const upload of await store.listMultipartUploads(prefix)) await store.abortMultipart(upload.key, upload.uploadId);
        for (const k of written) await store.delete(k);
      } finally {
        await store.close();
        await cleanup?.();
      }
    });

    it('puts, heads, gets and deletes an object', async () => {
      const k = key('dir/ünïcødé file (1).txt');
      const data = Buffer.from('hello, stratus\n');
      const put = await store.put(k, bodyOf(data), data.length, { contentType: 'text/plain' });
      expect(put).toMatchObject({ key: k, size: data.length });
      expect(put.etag).toMatch(/^[^"]+$/);
      const head = await store.head(k);
      expect(head).toMatchObject({ key: k, size: data.length, etag: put.etag });
      const got = await store.get(k);
      expect(got).toMatchObject({ size: data.length, contentLength: data.length, etag: put.etag });
      expect(await collect(got.body)).toEqual(data);
      await store.delete(k);
      expect(await store.head(k)).toBeNull();
      await expectCode(store.get(k), 'NOT_FOUND');
    });

    it('replaces an object on a second put, and stores an empty one', async () => {
      const k = key('replaced');
      await store.put(k, bodyOf(Buffer.from('first version')), 13);
      const second = Buffer.from('second');
      const put = await store.put(k, bodyOf(second), second.length);
      expect(await collect((await store.get(k)).body)).toEqual(second);
      expect((await store.head(k))?.etag).toBe(put.etag);
      const empty = key('empty');
      await store.put(empty, bodyOf(Buffer.alloc(0)), 0);
      const got = await store.get(empty);
      expect(got).toMatchObject({ size: 0, contentLength: 0 });
      expect((await collect(got.body)).length).toBe(0);
    });

    it('answers NOT_FOUND / null for a missing key, and deletes a missing key without error', async () => {
      const k = key('never-written');
      await expectCode(store.get(k), 'NOT_FOUND');
      await expectCode(store.get(k, { start: 0, end: 0 }), 'NOT_FOUND');
      expect(await store.head(k)).toBeNull();
      await expect(store.delete(k)).resolves.toBeUndefined();
    });

    it('refuses a put body shorter or longer than its size and keeps the old object', async () => {
      const k = key('exact-size');
      await expectCode(store.put(k, bodyOf(Buffer.alloc(10, 1)), 11), 'BAD_INPUT', 'size-mismatch');
      await expectCode(store.put(k, bodyOf(Buffer.alloc(12, 1)), 11), 'BAD_INPUT', 'size-mismatch');
      expect(await store.head(k)).toBeNull();
      const good = await store.put(k, bodyOf(Buffer.alloc(11, 2)), 11);
      await expectCode(store.put(k, bodyOf(Buffer.alloc(5, 3)), 11), 'BAD_INPUT', 'size-mismatch');
      expect(await store.head(k)).toMatchObject({ size: 11, etag: good.etag });
    });

    it('reads byte ranges with the contract rule for ends beyond the size', async () => {
      const k = key('ranged');
      const data = pseudoRandom('ranged', 1000);
      await store.put(k, bodyOf(data), data.length);
      const read = async (start: number, end: number) => {
        const got = await store.get(k, { start, end });
        const bytes = await collect(got.body);
        expect(got.size).toBe(data.length);
        expect(got.contentLength).toBe(bytes.length);
        return bytes;
      };
      expect(await read(0, 0)).toEqual(data.subarray(0, 1));
      expect(await read(999, 999)).toEqual(data.subarray(999));
      expect(await read(100, 599)).toEqual(data.subarray(100, 600));
      expect(await read(990, 5000)).toEqual(data.subarray(990)); // clamped
      expect(await read(0, 999)).toEqual(data);
      await expectCode(store.get(k, { start: 1000, end: 1000 }), 'BAD_INPUT', 'range-not-satisfiable');
      await expectCode(store.get(k, { start: 5, end: 4 }), 'BAD_INPUT', 'invalid-range');
      await expectCode(store.get(k, { start: -1, end: 4 }), 'BAD_INPUT', 'invalid-range');
      const empty = key('ranged-empty');
      await store.put(empty, bodyOf(Buffer.alloc(0)), 0);
      await expectCode(store.get(empty, { start: 0, end: 0 }), 'BAD_INPUT', 'range-not-satisfiable');
    });

    describe('multipart', () => {
      /** Two full parts and a short last one. */
      const partsOf = (seed: string) => {
        const size = partSize();
        return [pseudoRandom(`${seed}1`, size), pseudoRandom(`${seed}2`, size), pseudoRandom(`${seed}3`, 1234)];
      };

      async function completeAndCheck(k: string, uploadId: string, parts: Buffer[], infos: PartInfo[]) {
        const sorted = [...infos].sort((a, b) => a.partNumber - b.partNumber);
        const listed = await store.listParts(k, uploadId);
        expect(listed).toEqual(sorted.map((p) => ({ partNumber: p.partNumber, etag: p.etag, size: p.size })));
        const info = await store.completeMultipart(k, uploadId, sorted.map(({ partNumber, etag }) => ({ partNumber, etag })));
        const whole = Buffer.concat(parts);
        expect(info).toMatchObject({ key: k, size: whole.length });
        expect(await store.head(k)).toMatchObject({ size: whole.length, etag: info.etag });
        const got = await store.get(k);
        expect(got.etag).toBe(info.etag);
        expect(sha256(await collect(got.body))).toBe(sha256(whole));
        return whole;
      }

      it('completes parts uploaded in order, and reads ranges across part boundaries', async () => {
        const k = key('mp-in-order');
        const parts = partsOf('in-order');
        const uploadId = await store.createMultipart(k, { contentType: 'application/octet-stream' });
        const infos: PartInfo[] = [];
        for (const [i, part] of parts.entries()) {
          const info = await store.uploadPart(k, uploadId, i + 1, bodyOf(part), part.length);
          expect(info).toMatchObject({ partNumber: i + 1, size: part.length });
          infos.push(info);
        }
        const whole = await completeAndCheck(k, uploadId, parts, infos);
        const p = partSize();
        for (const [start, end] of [[p - 3, p + 2], [2 * p - 1, 2 * p], [2 * p + 1000, whole.length + 99]] as const) {
          const got = await store.get(k, { start, end });
          expect(await collect(got.body)).toEqual(whole.subarray(start, end + 1));
        }
        await expectCode(store.listParts(k, uploadId), 'NOT_FOUND');
      });

      it('completes parts uploaded out of order', async () => {
        const k = key('mp-reversed');
        const parts = partsOf('reversed');
        const uploadId = await store.createMultipart(k);
        const infos: PartInfo[] = [];
        for (const i of [2, 0, 1]) infos.push(await store.uploadPart(k, uploadId, i + 1, bodyOf(parts[i]!), parts[i]!.length));
        await completeAndCheck(k, uploadId, parts, infos);
      });

      it('completes parts uploaded in parallel', async () => {
        const k = key('mp-parallel');
        const parts = partsOf('parallel');
        const uploadId = await store.createMultipart(k);
        const infos = await Promise.all(parts.map((part, i) => store.uploadPart(k, uploadId, i + 1, bodyOf(part), part.length)));
        await completeAndCheck(k, uploadId, parts, infos);
      });

      it('replaces a re-uploaded part and refuses the old etag', async () => {
        const k = key('mp-replace');
        const [first, second, last] = partsOf('replace') as [Buffer, Buffer, Buffer];
        const uploadId = await store.createMultipart(k);
        const old = await store.uploadPart(k, uploadId, 1, bodyOf(first), first.length);
        const fresh = await store.uploadPart(k, uploadId, 1, bodyOf(second), second.length);
        const tail = await store.uploadPart(k, uploadId, 2, bodyOf(last), last.length);
        expect(fresh.etag).not.toBe(old.etag);
        expect(await store.listParts(k, uploadId)).toEqual([fresh, tail]);
        const stale = [{ partNumber: 1, etag: old.etag }, { partNumber: 2, etag: tail.etag }];
        await expectCode(store.completeMultipart(k, uploadId, stale), 'BAD_INPUT', 'invalid-part');
        await expectCode(store.completeMultipart(k, uploadId, [...stale].reverse()), 'BAD_INPUT', 'part-order');
        await expectCode(store.completeMultipart(k, uploadId, []), 'BAD_INPUT', 'no-parts');
        await completeAndCheck(k, uploadId, [second, last], [fresh, tail]);
      });

      it('refuses a part body shorter or longer than its size and records nothing', async () => {
        const k = key('mp-exact-size');
        const uploadId = await store.createMultipart(k);
        const part = pseudoRandom('exact', partSize());
        const good = await store.uploadPart(k, uploadId, 1, bodyOf(part), part.length);
        const short = part.subarray(0, part.length - 1);
        const long = Buffer.concat([part, Buffer.from('x')]);
        await expectCode(store.uploadPart(k, uploadId, 2, bodyOf(short), part.length), 'BAD_INPUT', 'size-mismatch');
        await expectCode(store.uploadPart(k, uploadId, 2, bodyOf(long), part.length), 'BAD_INPUT', 'size-mismatch');
        await expectCode(store.uploadPart(k, uploadId, 1, bodyOf(short), part.length), 'BAD_INPUT', 'size-mismatch');
        await expectCode(store.uploadPart(k, uploadId, 1, bodyOf(long), part.length), 'BAD_INPUT', 'size-mismatch');
        expect(await store.listParts(k, uploadId)).toEqual([good]);
        await store.abortMultipart(k, uploadId);
      });

      it('refuses to complete with a part below minPartSize and leaves the upload open', async () => {
        const k = key('mp-too-small');
        const min = store.capabilities.minPartSize;
        const small = pseudoRandom('small', Math.min(1024, min - 1));
        const uploadId = await store.createMultipart(k);
        const a = await store.uploadPart(k, uploadId, 1, bodyOf(small), small.length);
        const b = await store.uploadPart(k, uploadId, 2, bodyOf(small), small.length);
        const list = [a, b].map(({ partNumber, etag }) => ({ partNumber, etag }));
        await expectCode(store.completeMultipart(k, uploadId, list), 'BAD_INPUT', 'part-too-small');
        expect(await store.listParts(k, uploadId)).toEqual([a, b]);
        expect(await store.head(k)).toBeNull();
        await store.abortMultipart(k, uploadId);
        await expectCode(store.listParts(k, uploadId), 'NOT_FOUND');
      });

      it('forgets an aborted upload', async () => {
        const k = key('mp-aborted');
        const uploadId = await store.createMultipart(k);
        const part = pseudoRandom('aborted', 100);
        const info = await store.uploadPart(k, uploadId, 1, bodyOf(part), part.length);
        await store.abortMultipart(k, uploadId);
        await expectCode(store.listParts(k, uploadId), 'NOT_FOUND');
        await expectCode(store.completeMultipart(k, uploadId, [{ partNumber: 1, etag: info.etag }]), 'NOT_FOUND');
        await expectCode(store.uploadPart(k, uploadId, 2, bodyOf(part), part.length), 'NOT_FOUND');
        await expectCode(store.abortMultipart(k, uploadId), 'NOT_FOUND');
        expect(await store.head(k)).toBeNull();
      });

      it('lists open uploads under a prefix, not aborted or completed ones', async () => {
        const open = key('uploads/open');
        const aborted = key('uploads/aborted');
        const done = key('uploads/done');
        const elsewhere = key('other/open');
        const openId = await store.createMultipart(open);
        const abortedId = await store.createMultipart(aborted);
        const doneId = await store.createMultipart(done);
        const elsewhereId = await store.createMultipart(elsewhere);
        await store.abortMultipart(aborted, abortedId);
        const part = await store.uploadPart(done, doneId, 1, bodyOf(Buffer.from('done')), 4);
        await store.completeMultipart(done, doneId, [{ partNumber: 1, etag: part.etag }]);
        const listed = await store.listMultipartUploads(`${prefix}uploads/`);
        expect(listed.map((u) => ({ key: u.key, uploadId: u.uploadId }))).toEqual([{ key: open, uploadId: openId }]);
        const all = (await store.listMultipartUploads(prefix)).map((u) => u.uploadId);
        expect(all).toEqual(expect.arrayContaining([openId, elsewhereId]));
        await store.abortMultipart(open, openId);
        await store.abortMultipart(elsewhere, elsewhereId);
      });
    });

    it('presigns a GET that plain fetch downloads, with the download name', async () => {
      const k = key('presigned.bin');
      const data = pseudoRandom('presign', 4321);
      await store.put(k, bodyOf(data), data.length);
      const url = await store.presignGet(k, { expiresInSeconds: 60, downloadName: 'résumé "2024" (final).bin', contentType: 'application/pdf' });
      if (!store.capabilities.presign) {
        expect(url).toBeNull();
        return;
      }
      expect(url).toEqual(expect.any(String));
      const response = await fetch(url!);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(data);
      // RFC 6266 + RFC 5987: UTF-8, percent-encoded, every non-attr-char escaped.
      expect(response.headers.get('content-disposition')).toContain(`filename*=UTF-8''r%C3%A9sum%C3%A9%20%222024%22%20%28final%29.bin`);
      expect(response.headers.get('content-type')).toBe('application/pdf');
      const plain = await fetch((await store.presignGet(k, { expiresInSeconds: 60 }))!);
      expect(Buffer.from(await plain.arrayBuffer())).toEqual(data);
    });

    it('moves a big object through multipart and get in bounded memory', { timeout: 300_000 }, async ({ annotate }) => {
      const total = options.bigObjectBytes ?? 1024 * MiB;
      const k = key('big.bin');
      const result = await bigRoundTrip(store, k, total);
      const mib = (n: number) => (n / MiB).toFixed(1);
      const line =
        `[${name}] ${mib(total)} MiB: upload ${mib(total / result.uploadSeconds)} MiB/s, ` +
        `download ${mib(total / result.downloadSeconds)} MiB/s, peak RSS growth ${mib(result.peakGrowth)} MiB\n`;
      process.stdout.write(line);
      await annotate(line.trim());
      expect(result.downloaded).toBe(total);
      expect(result.downloadHash).toBe(result.uploadHash);
      expect(result.peakGrowth).toBeLessThan(150 * MiB);
    });
  });
}

/**
 * Uploads `total` pseudo-random bytes in 8 MiB parts (4 in flight) while hashing them, then
 * downloads and hashes them, sampling RSS throughout. Only one buffer per part in flight exists.
 */
async function bigRoundTrip(store: ObjectStore, k: string, total: number) {
  const partBytes = 8 * MiB;
  const inFlight = 4;
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sample = () => (peak = Math.max(peak, process.memoryUsage.rss()));
  const timer = setInterval(sample, 20);
  try {
    const started = performance.now();
    const uploadHash = createHash('sha256');
    const pool: Buffer[] = [];
    const source = new PseudoRandomStream('big', total);
    // Slices the source into parts; a worker asking for its next part has returned its buffer.
    async function* slices(): AsyncGenerator<{ partNumber: number; data: Buffer }> {
      let buffer = pool.pop() ?? Buffer.allocUnsafe(partBytes);
      let filled = 0;
      let partNumber = 1;
      for await (const chunk of source as AsyncIterable<Buffer>) {
        uploadHash.update(chunk);
        for (let offset = 0; offset < chunk.length; ) {
          const n = chunk.copy(buffer, filled, offset, Math.min(chunk.length, offset + partBytes - filled));
          filled += n;
          offset += n;
          if (filled === partBytes) {
            yield { partNumber: partNumber++, data: buffer };
            buffer = pool.pop() ?? Buffer.allocUnsafe(partBytes);
            filled = 0;
          }
        }
      }
      if (filled > 0 || partNumber === 1) yield { partNumber, data: buffer.subarray(0, filled) };
    }
    const uploadId = await store.createMultipart(k);
    const parts: { partNumber: number; etag: string }[] = [];
    const queue = slices();
    let failed = false;
    const worker = async () => {
      for (let next = await queue.next(); !next.done && !failed; next = await queue.next()) {
        const { partNumber, data } = next.value;
        try {
          const info = await store.uploadPart(k, uploadId, partNumber, bodyOf(data, 256 * KiB), data.length);
          parts.push({ partNumber, etag: info.etag });
        } catch (error) {
          failed = true;
          throw error;
        }
        pool.push(data.length === partBytes ? data : Buffer.from(data.buffer, data.byteOffset, partBytes));
        sample();
      }
    };
    try {
      await Promise.all(Array.from({ length: inFlight }, worker));
      parts.sort((a, b) => a.partNumber - b.partNumber);
      await store.completeMultipart(k, uploadId, parts);
    } catch (error) {
      await store.abortMultipart(k, uploadId).catch(() => undefined);
      throw error;
    }
    const uploaded = performance.now();
    const got = await store.get(k);
    const downloadHash = createHash('sha256');
    let downloaded = 0;
    for await (const chunk of got.body as AsyncIterable<Buffer>) {
      downloadHash.update(chunk);
      downloaded += chunk.length;
    }
    const finished = performance.now();
    sample();
    return {
      uploadHash: uploadHash.digest('hex'),
      downloadHash: downloadHash.digest('hex'),
      downloaded,
      uploadSeconds: (uploaded - started) / 1000,
      downloadSeconds: (finished - uploaded) / 1000,
      peakGrowth: peak - baseline,
    };
  } finally {
    clearInterval(timer);
  }
}

/**
 * Deterministic pseudo-random bytes: AES-256-CTR over zeros, keyed by the seed. Cheap (GB/s), so
 * generating a gigabyte costs less than moving it.
 */
class PseudoRandomStream extends Readable {
  private readonly cipher;
  private remaining: number;
  private static readonly zeros = Buffer.alloc(MiB);

  constructor(seed: string, length: number) {
    super();
    this.cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
    this.remaining = length;
  }

  override _read(): void {
    if (this.remaining === 0) {
      this.push(null);
      return;
    }
    const n = Math.min(this.remaining, MiB);
    this.remaining -= n;
    this.push(this.cipher.update(PseudoRandomStream.zeros.subarray(0, n)));
  }
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode, reason?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected AppError ${code}, got ${String(error)}`).toBeInstanceOf(AppError);
  const { code: actual, message, details, cause } = error as AppError;
  const seen = `${actual} ${message} ${JSON.stringify(details)} cause: ${String(cause)}`;
  expect(actual, seen).toBe(code);
  if (reason !== undefined) expect(details?.reason, seen).toBe(reason);
}
