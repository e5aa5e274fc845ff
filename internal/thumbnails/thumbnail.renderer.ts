/**
 * Makes the thumbnails of one blob with sharp, bounded:
 * 1. the blob's size against `maxInputBytes` (nothing read);
 * 2. its first `probeBytes` (more, up to `headerBytes`, only for an image whose header goes on past
 *    them): sharp reads the header (format, width, height) without decoding pixels, so a
 *    30000×30000 "bomb" of a few KiB or a 100-megapixel photo is refused here;
 * 3. the whole blob streamed from the store (or from what step 2 read, when that was all of it)
 *    into sharp (which buffers at most `maxInputBytes`), with `limitInputPixels` again (the header
 *    could lie) and a timeout, to the LARGE size; the smaller sizes are made from that (at most
 *    1024 px), not by decoding the original again.
 * libvips threads and cache are kept small: one job at a time per process is the plan.
 */
import sharp from 'sharp';
import type { Metadata, Sharp } from 'sharp';
import { Readable } from 'node:stream';
import { AppError } from '../platform/errors.ts';
import { webpDimensions } from './webp-header.ts';
import { startsLikeImage, THUMBNAIL_FORMATS, THUMBNAIL_SIZES, type ThumbnailLimits, type ThumbnailSize } from './thumbnails.rules.ts';

sharp.cache(false);
sharp.concurrency(1);

export type RenderFailure = 'too_large' | 'too_many_pixels' | 'unsupported' | 'corrupt' | 'timeout';
export type RenderResult = { kind: 'ready'; images: Map<ThumbnailSize, Buffer> } | { kind: 'failed'; reason: RenderFailure };

export interface RenderSource {
  size: number;
  /** The first `bytes` of the blob. */
  head(bytes: number): Promise<Buffer>;
  /** The whole blob as a stream. */
  open(): Promise<Readable>;
}

export async function renderThumbnails(source: RenderSource, limits: ThumbnailLimits): Promise<RenderResult> {
  if (source.size > limits.maxInputBytes) return { kind: 'failed', reason: 'too_large' };
  const { header, meta } = await readHeader(source, limits);
  if (!meta) return { kind: 'failed', reason: 'corrupt' };
  if (!meta.format || !THUMBNAIL_FORMATS.has(meta.format)) return { kind: 'failed', reason: 'unsupported' };
  // The prebuilt libheif decodes AV1 (AVIF) only: an HEVC-coded HEIC (most phones') is not decodable here.
  if (meta.format === 'heif' && meta.compression === 'hevc') return { kind: 'failed', reason: 'unsupported' };
  if (!meta.width || !meta.height) return { kind: 'failed', reason: 'corrupt' };
  if (meta.width * meta.height > limits.maxInputPixels) return { kind: 'failed', reason: 'too_many_pixels' };
  try {
    // A blob no larger than what was read for its header is in hand already: not read twice.
    const large = await decodeLarge(header.length === source.size ? Readable.from([header]) : await source.open(), limits);
    const images = new Map<ThumbnailSize, Buffer>([['LARGE', large]]);
    for (const size of ['MEDIUM', 'SMALL'] as const) images.set(size, await resize(sharp(large), size).toBuffer());
    return { kind: 'ready', images };
  } catch (error) {
    // The store failing is worth a retry; the image failing is not.
    if (error instanceof AppError) throw error;
    return { kind: 'failed', reason: failureOf(error) };
  }
}

/**
 * A small read first: a blob that is no image (whatever its name says) ends here, and so does
 * nearly every image's header. A JPEG's EXIF, ICC and XMP segments come before its frame header
 * (SOF, which holds the size) and can run to hundreds of KiB: only then is more read.
 */
async function readHeader(source: RenderSource, limits: ThumbnailLimits): Promise<{ header: Buffer; meta: Awaited<ReturnType<typeof headerOf>> }> {
  const most = Math.min(source.size, limits.headerBytes);
  const header = await source.head(Math.min(most, limits.probeBytes));
  const meta = await headerOf(header);
  if (meta?.width && meta.height) return { header, meta };
  if (header.length === most || !startsLikeImage(header)) return { header, meta };
  const longer = await source.head(most);
  return { header: longer, meta: await headerOf(longer) };
}

/** Format and size from the header alone (no pixel decoded); null when it cannot be read. */
async function headerOf(header: Buffer): Promise<Pick<Metadata, 'format' | 'width' | 'height' | 'compression'> | null> {
  try {
    return await sharp(header, { limitInputPixels: false, failOn: 'none' }).metadata();
  } catch {
    // libvips wants a whole WebP; its header says the size all the same.
    const webp = webpDimensions(header);
    return webp ? { format: 'webp', ...webp } : null;
  }
}

function resize(image: Sharp, size: ThumbnailSize): Sharp {
  const px = THUMBNAIL_SIZES[size];
  return image.resize(px, px, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 });
}

async function decodeLarge(body: Readable, limits: ThumbnailLimits): Promise<Buffer> {
  // pages 1: the first frame of a GIF or animated WebP. rotate(): EXIF orientation applied.
  const image = sharp({ limitInputPixels: limits.maxInputPixels, failOn: 'warning', pages: 1, sequentialRead: true })
    .timeout({ seconds: Math.max(1, Math.ceil(limits.timeoutMs / 1000)) })
    .rotate();
  // sharp waits for its input to end before it decodes: a store that breaks off mid-read, or a
  // read that takes too long, must end the job from here (the stream is destroyed either way).
  let timer: NodeJS.Timeout | undefined;
  const stopped = new Promise<never>((_, reject) => {
    body.once('error', (error) => reject(error instanceof AppError ? error : new AppError('UNAVAILABLE', 'blob could not be read for its thumbnail', { cause: error })));
    timer = setTimeout(() => reject(new Timeout('thumbnail timeout')), limits.timeoutMs);
  });
  image.once('error', () => undefined);
  body.pipe(image);
  try {
    return await Promise.race([resize(image, 'LARGE').toBuffer(), stopped]);
  } finally {
    clearTimeout(timer);
    body.unpipe(image);
    body.destroy();
  }
}

class Timeout extends Error {}

function failureOf(error: unknown): RenderFailure {
  if (error instanceof Timeout) return 'timeout';
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) return 'too_many_pixels';
  if (/timeout/i.test(message)) return 'timeout';
  if (/unsupported image format/i.test(message)) return 'unsupported';
  return 'corrupt';
}
