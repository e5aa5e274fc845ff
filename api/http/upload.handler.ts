/**
 * PUT /upload/{sessionId}/{index}: one chunk as the raw request body (Bearer token).
 * Answers 200 with the session's progress; `Content-Digest: sha-256=:…:` (RFC 9530) is checked
 * when sent. Chunks may arrive in any order and in parallel.
 */
import express, { type RequestHandler, type Router } from 'express';
import { AppError } from '../../internal/platform/errors.ts';
import type { UploadMeter } from '../../internal/platform/metrics.ts';
import type { StorageRouter } from '../../internal/storage/index.ts';
import type { Clients } from '../clients.ts';
import { writeChunk } from '../../internal/uploads/index.ts';
import { parseContentDigest } from './content-digest.ts';

export function uploadRouter(clients: Clients, storage: StorageRouter, auth: RequestHandler, meter?: UploadMeter): Router {
  const router = express.Router();
  router.put('/upload/:sessionId/:index', auth, async (req, res) => {
    const index = String(req.params.index);
    if (!/^\d{1,7}$/.test(index)) {
      throw new AppError('BAD_INPUT', 'The chunk index must be a non-negative integer', { details: { field: 'index', reason: 'index_out_of_range' } });
    }
    const lengthHeader = req.headers['content-length'];
    const length = lengthHeader === undefined ? null : Number(lengthHeader);
    if (length !== null && !Number.isSafeInteger(length)) throw new AppError('BAD_INPUT', 'Bad Content-Length');
    const digest = parseContentDigest(req.get('content-digest'));
    const result = await writeChunk(clients, storage, { sessionId: String(req.params.sessionId), index: Number(index), body: req, length, digest }, meter);
    res.json(result);
  });
  return router;
}
