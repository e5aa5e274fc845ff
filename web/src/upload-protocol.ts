/** Messages between the upload manager (page) and the upload worker (one worker per file). */
export const BLOCK_SIZE = 4 * 1024 * 1024;
/** createUpload takes blockHashes for files of at most this many blocks (128 GiB). */
export const MAX_BLOCK_HASHES = 32768;

export type ToWorker =
  | { type: 'hash'; file: Blob }
  | { type: 'prove'; file: Blob; nonce: string; ranges: { offset: number; length: number }[] }
  | { type: 'put'; file: Blob; sessionId: string; chunkSize: number; indexes: number[]; token: string; parallel: number }
  | { type: 'token'; token: string };

export interface ChunkAnswer {
  uploadedBytes: number;
  size: number;
  status: string;
}

export type FromWorker =
  | { type: 'hashProgress'; bytes: number }
  /** blockHashes: each 4 MiB block's hex SHA-256, in order; absent above MAX_BLOCK_HASHES blocks. */
  | { type: 'hashed'; hash: string; blockHashes?: string[] }
  | { type: 'proofs'; proofs: string[] }
  /** Bytes of chunks in flight (not yet recorded): the local fallback for the progress bar. */
  | { type: 'inflight'; bytes: number }
  | { type: 'sent'; index: number; length: number; answer: ChunkAnswer }
  | { type: 'putDone' }
  | { type: 'needToken' }
  | { type: 'error'; code: string; message: string };
