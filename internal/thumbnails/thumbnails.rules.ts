/** Pure rules of thumbnails: the sizes, which files are worth a job, where the objects go. */
import type { ContentKey } from './thumbnails.repository.ts';

/** `enum ThumbnailSize`: the longest edge in pixels (never enlarged: a smaller image keeps its size). */
export const THUMBNAIL_SIZES = { SMALL: 128, MEDIUM: 256, LARGE: 1024 } as const;
export type ThumbnailSize = keyof typeof THUMBNAIL_SIZES;
export const THUMBNAIL_SIZE_NAMES = Object.keys(THUMBNAIL_SIZES) as ThumbnailSize[];

/** The formats sharp's prebuilt libvips decodes that we make thumbnails of ('heif' covers AVIF; HEVC-coded HEIC it cannot decode). */
export const THUMBNAIL_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'heif']);

const IMAGE_NAME = /\.(jpe?g|png|webp|gif|heic|heif|avif)$/i;
const IMAGE_TYPE = /^image\/(jpeg|png|webp|gif|heic|heif|avif)$/i;

/** Worth a job: an image by its declared type or its name (the job reads the header and decides). */
export function looksLikeImage(name: string, mimeType: string | null): boolean {
  return (mimeType !== null && IMAGE_TYPE.test(mimeType)) || IMAGE_NAME.test(name);
}

/**
 * The blob's first bytes carry the signature of a format we make thumbnails of: JPEG (SOI and a
 * marker, FF D8 FF), PNG (its 8-byte signature, PNG §5.2), GIF ("GIF87a"/"GIF89a"), WebP ("RIFF",
 * a length, "WEBP"), HEIF/AVIF (an ISO BMFF `ftyp` box first, ISO/IEC 23008-12). A blob without
 * one is no image of ours however it is named, and its header needs no further read.
 */
export function startsLikeImage(head: Buffer): boolean {
  const ascii = (from: number, to: number) => head.toString('latin1', from, to);
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return true;
  if (head.length >= 8 && head.subarray(0, 8).equals(PNG_SIGNATURE)) return true;
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return true;
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return true;
  return ascii(4, 8) === 'ftyp';
}
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Beside the blob in its backend, derived from the content: one object per content and size, whoever's files. */
export function thumbnailKey(key: ContentKey, size: ThumbnailSize): string {
  return `thumbnails/${key.contentHash.slice(0, 2)}/${key.contentHash}-${key.size}/${THUMBNAIL_SIZES[size]}.webp`;
}

/** The limits of one job (THUMBNAIL_LIMITS, overridable in tests). */
export interface ThumbnailLimits {
  /** Blobs larger than this are not read at all (sharp buffers a streamed input). */
  maxInputBytes: number;
  /** width × height above this is refused from the header, before any pixel is decoded. */
  maxInputPixels: number;
  /**
   * Bytes read first: whether the blob is an image at all, and for nearly every image its format
   * and size. More, up to `headerBytes`, only for an image whose header goes on past them.
   */
  probeBytes: number;
  /** The most bytes read for the header check. */
  headerBytes: number;
  /** A job's whole run, read and encode. */
  timeoutMs: number;
}

export const THUMBNAIL_LIMITS: ThumbnailLimits = {
  maxInputBytes: 64 * 1024 * 1024,
  maxInputPixels: 40_000_000,
  probeBytes: 64 * 1024,
  headerBytes: 1024 * 1024,
  timeoutMs: 30_000,
};
