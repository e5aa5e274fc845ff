/**
 * The renderer's bounds, on sharp itself (no service): what is refused before any read, what a
 * failing store does (thrown: the queue retries), the timeout, and the memory a real 24-megapixel
 * photo costs to thumbnail.
 */
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { AppError } from '../platform/errors.ts';
import { renderThumbnails, type RenderSource } from './thumbnail.renderer.ts';
import { THUMBNAIL_LIMITS } from './thumbnails.rules.ts';

function source(bytes: Buffer, reads: string[] = []): RenderSource {
  return {
    size: bytes.length,
    head: async (n) => {
      reads.push(`head ${n}`);
      return bytes.subarray(0, n);
    },
    open: async () => {
      reads.push('open');
      // Small pieces, as a store streams them.
      return Readable.from((function* pieces() {
        for (let i = 0; i < bytes.length; i += 64 * 1024) yield bytes.subarray(i, i + 64 * 1024);
      })());
    },
  };
}

describe('renderThumbnails', () => {
  it('refuses a blob over maxInputBytes without reading a byte', async () => {
    const reads: string[] = [];
    const big = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#fff' } }).png().toBuffer();
    expect(await renderThumbnails(source(big, reads), { ...THUMBNAIL_LIMITS, maxInputBytes: big.length - 1 })).toEqual({ kind: 'failed', reason: 'too_large' });
    expect(reads).toEqual([]);
  });

  it('refuses too many pixels from the header alone (the whole blob is never opened)', async () => {
    const reads: string[] = [];
    const photo = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#abc' } }).jpeg().toBuffer();
    expect(await renderThumbnails(source(photo, reads), { ...THUMBNAIL_LIMITS, maxInputPixels: 5_000_000 })).toEqual({ kind: 'failed', reason: 'too_many_pixels' });
    expect(reads).toEqual([`head ${Math.min(photo.length, THUMBNAIL_LIMITS.probeBytes)}`]);
  });

  it('a store that breaks off mid-read throws an AppError (retried by the queue), not a FAILED image', async () => {
    const photo = await sharp({ create: { width: 2000, height: 1500, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
    const broken: RenderSource = {
      ...source(photo),
      open: async () => Readable.from((async function* pieces() {
        yield photo.subarray(0, 10_000);
        throw new Error('socket hang up');
      })()),
    };
    const error = await renderThumbnails(broken, THUMBNAIL_LIMITS).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('UNAVAILABLE');
  });

  it('a job past its timeout is FAILED timeout', async () => {
    const photo = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
    const slow: RenderSource = {
      ...source(photo),
      open: async () => Readable.from((async function* pieces() {
        yield photo.subarray(0, 1000);
        await new Promise((r) => setTimeout(r, 2_000));
        yield photo.subarray(1000);
      })()),
    };
    expect(await renderThumbnails(slow, { ...THUMBNAIL_LIMITS, timeoutMs: 300 })).toEqual({ kind: 'failed', reason: 'timeout' });
  });

  it('a 24-megapixel photo: three sizes, and the memory it costs', async () => {
    const photo = await sharp({ create: { width: 6000, height: 4000, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 30 } } }).jpeg({ quality: 85 }).toBuffer();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const started = performance.now();
    const result = await renderThumbnails(source(photo), THUMBNAIL_LIMITS).finally(() => clearInterval(sampler));
    const ms = performance.now() - started;
    if (result.kind !== 'ready') throw new Error(`not rendered: ${result.reason}`);
    const sizes = await Promise.all([...result.images].map(async ([size, image]) => [size, (await sharp(image).metadata()).width] as const));
    expect(Object.fromEntries(sizes)).toEqual({ LARGE: 1024, MEDIUM: 256, SMALL: 128 });
    const growthMiB = (peak - before) / 2 ** 20;
    console.log(`thumbnails: 24 MP JPEG (${(photo.length / 2 ** 20).toFixed(1)} MiB) -> 3 sizes in ${ms.toFixed(0)} ms, RSS growth ${growthMiB.toFixed(1)} MiB`);
    // The decoded image would be 69 MiB (RGB); the input buffer is the file itself.
    expect(growthMiB).toBeLessThan(photo.length / 2 ** 20 + 64);
  }, 60_000);
});

describe('a WebP larger than the header read', () => {
  it.each([
    ['lossy', { quality: 80 }],
    ['lossless', { lossless: true }],
  ] as const)('%s: its size is read from the first bytes, and it is refused or rendered by that size', async (_kind, options) => {
    const webp = await sharp({ create: { width: 1500, height: 1000, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).webp(options).toBuffer();
    const limits = { ...THUMBNAIL_LIMITS, headerBytes: 4096 };
    expect(webp.length).toBeGreaterThan(limits.headerBytes);
    expect(await renderThumbnails(source(webp), { ...limits, maxInputPixels: 1_499_999 })).toEqual({ kind: 'failed', reason: 'too_many_pixels' });
    const result = await renderThumbnails(source(webp), limits);
    expect(result.kind).toBe('ready');
    if (result.kind === 'ready') expect((await sharp(result.images.get('LARGE')).metadata()).width).toBe(1024);
  }, 30_000);

  it('extended (VP8X, with alpha)', async () => {
    const webp = await sharp({ create: { width: 1200, height: 900, channels: 4, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).webp().toBuffer();
    expect(await renderThumbnails(source(webp), { ...THUMBNAIL_LIMITS, headerBytes: 4096, maxInputPixels: 1_079_999 })).toEqual({ kind: 'failed', reason: 'too_many_pixels' });
  }, 30_000);
});

describe('HEIF', () => {
  it('AVIF (AV1 in HEIF), which the prebuilt libheif decodes, gets its thumbnails', async () => {
    const avif = await sharp({ create: { width: 1500, height: 1000, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).avif().toBuffer();
    expect((await sharp(avif).metadata()).compression).toBe('av1');
    const result = await renderThumbnails(source(avif), THUMBNAIL_LIMITS);
    if (result.kind !== 'ready') throw new Error(`not rendered: ${result.reason}`);
    expect((await sharp(result.images.get('MEDIUM')).metadata()).width).toBe(256);
  }, 30_000);
});

describe('what a job reads', () => {
  const probe = THUMBNAIL_LIMITS.probeBytes;

  it('a blob named as an image that is none: its first bytes only, FAILED corrupt', async () => {
    const reads: string[] = [];
    const noise = Buffer.alloc(3 * 1024 * 1024, 0x5a);
    expect(await renderThumbnails(source(noise, reads), THUMBNAIL_LIMITS)).toEqual({ kind: 'failed', reason: 'corrupt' });
    expect(reads).toEqual([`head ${probe}`]);
  });

  it('a JPEG whose header runs on past the first read (large APP segments before its frame): read on, up to headerBytes, and rendered', async () => {
    const jpeg = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
    // APP15 segments of 60 000 bytes each (at most 65 535 each, the length counting itself), after SOI.
    const app = Buffer.concat([Buffer.from([0xff, 0xef, 60_000 >> 8, 60_000 & 0xff]), Buffer.alloc(60_000 - 2)]);
    const padded = Buffer.concat([jpeg.subarray(0, 2), app, app, app, app, jpeg.subarray(2)]);
    expect((await sharp(padded).metadata()).width).toBe(1200);
    const reads: string[] = [];
    const result = await renderThumbnails(source(padded, reads), THUMBNAIL_LIMITS);
    expect(result.kind).toBe('ready');
    expect(reads.slice(0, 2)).toEqual([`head ${probe}`, `head ${Math.min(padded.length, THUMBNAIL_LIMITS.headerBytes)}`]);
  }, 30_000);

  it('an image wholly within the first read is decoded from it: the blob is read once', async () => {
    const reads: string[] = [];
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3a6' } }).png().toBuffer();
    expect(png.length).toBeLessThan(probe);
    const result = await renderThumbnails(source(png, reads), THUMBNAIL_LIMITS);
    expect(result.kind).toBe('ready');
    expect(reads).toEqual([`head ${png.length}`]);
  });
});
