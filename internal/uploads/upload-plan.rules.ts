/**
 * Pure rules of an upload session: chunk size and count, the length of each chunk, and the
 * proof-of-ownership challenge.
 *
 * Chunk size: a multiple of 4 MiB (content-hash blocks never straddle chunks), 8 MiB by default,
 * at least the backend's minimum part size (S3: "each part must be at least 5 MB in size, except
 * the last part"), and raised until the file needs no more parts than the backend allows
 * (S3, OSS, COS: 10 000).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { AppError, type ErrorReason } from '../platform/errors.ts';
import type { StoreCapabilities } from '../storage/object-store.ts';
import { BLOCK_SIZE, CONTENT_HASH_RE, combineBlockDigests } from '../files/content-hash.ts';

export const DEFAULT_CHUNK_SIZE = 2 * BLOCK_SIZE;
export const MAX_CHUNK_SIZE = 64 * BLOCK_SIZE;
/** S3's object limit; no backend here goes beyond it. */
export const MAX_OBJECT_SIZE = 5 * 1024 ** 4;

export function planChunks(size: number, requested: number | undefined, caps: StoreCapabilities): { chunkSize: number; chunkCount: number } {
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new AppError('BAD_INPUT', 'An upload session needs a size of at least 1 byte (empty files: uploadFile)', { details: { field: 'size', reason: 'size_invalid' } });
  }
  if (requested !== undefined && (requested <= 0 || requested % BLOCK_SIZE !== 0)) {
    throw new AppError('BAD_INPUT', `chunkSize must be a positive multiple of ${BLOCK_SIZE} bytes (4 MiB)`, { details: { field: 'chunkSize', reason: 'chunk_size_invalid' } });
  }
  const roundUp = (n: number) => Math.ceil(n / BLOCK_SIZE) * BLOCK_SIZE;
  const maxChunk = Math.min(MAX_CHUNK_SIZE, Math.floor(caps.maxPartSize / BLOCK_SIZE) * BLOCK_SIZE);
  const maxSize = Math.min(MAX_OBJECT_SIZE, maxChunk * caps.maxParts);
  if (size > maxSize) {
    throw new AppError('PAYLOAD_TOO_LARGE', `Files can have at most ${maxSize} bytes on this storage backend`, { details: { field: 'size', reason: 'size_above_backend_limit', limit: maxSize } });
  }
  let chunkSize = Math.max(requested ?? DEFAULT_CHUNK_SIZE, roundUp(caps.minPartSize));
  chunkSize = Math.max(chunkSize, roundUp(Math.ceil(size / caps.maxParts)));
  chunkSize = Math.min(chunkSize, maxChunk);
  return { chunkSize, chunkCount: Math.ceil(size / chunkSize) };
}

export function chunkLength(index: number, size: number, chunkSize: number, chunkCount: number): number {
  return index < chunkCount - 1 ? chunkSize : size - chunkSize * (chunkCount - 1);
}

/** 128 GiB of 4 MiB blocks: 2 MiB of hex in the request and the row. Larger files omit the list. */
export const MAX_BLOCK_HASHES = 32_768;

/**
 * Checks the block digests a client declared: one per 4 MiB block of `size` bytes, lowercase hex,
 * and combining to the declared content hash (so a chunk that matches its blocks can never make
 * completion fail on content). Returns them concatenated, as the row keeps them.
 */
export function declaredBlockHashes(size: number, contentHash: string | null | undefined, blockHashes: readonly string[]): string {
  const bad = (reason: ErrorReason, message: string) => new AppError('BAD_INPUT', message, { details: { field: 'blockHashes', reason } });
  if (!contentHash) throw bad('block_hashes_without_content_hash', 'blockHashes need the contentHash they combine to');
  const expected = Math.ceil(size / BLOCK_SIZE);
  if (blockHashes.length > MAX_BLOCK_HASHES) throw bad('block_hashes_count', `At most ${MAX_BLOCK_HASHES} block hashes; omit them for larger files`);
  if (blockHashes.length !== expected) throw bad('block_hashes_count', `A file of ${size} bytes has ${expected} blocks of 4 MiB, not ${blockHashes.length}`);
  if (!blockHashes.every((h) => CONTENT_HASH_RE.test(h))) throw bad('block_hashes_invalid', 'Each block hash must be 64 lowercase hex characters (SHA-256)');
  if (combineBlockDigests(blockHashes.map((h) => Buffer.from(h, 'hex'))) !== contentHash) {
    throw bad('block_hashes_mismatch', 'The block hashes do not combine to the contentHash');
  }
  return blockHashes.join('');
}

export interface ChallengeRange {
  offset: number;
  length: number;
}

export const PROOF_RANGES = 3;
export const PROOF_RANGE_LENGTH = 64 * 1024;

/** A fresh nonce and a few random byte ranges of the file (fewer and shorter for tiny files). */
export function newChallenge(size: number): { nonce: string; ranges: ChallengeRange[] } {
  const length = Math.min(size, PROOF_RANGE_LENGTH);
  const ranges: ChallengeRange[] = [];
  for (let i = 0; i < PROOF_RANGES; i++) {
    // randomInt's range must stay below 2^48; files that large still get well-spread offsets.
    const span = size - length + 1;
    const offset = span <= 1 ? 0 : span < 2 ** 48 ? randomInt(0, span) : Math.floor((randomInt(0, 2 ** 47) / 2 ** 47) * span);
    ranges.push({ offset, length });
  }
  return { nonce: randomBytes(16).toString('hex'), ranges };
}
