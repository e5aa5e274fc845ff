/**
 * What a GET for stored bytes will do, decided before anything is sent, so that a share
 * download can take its slot before its first byte (internal/files/share-slots.service.ts):
 * - null: no byte of the file goes (HEAD, 304, 412, 416) — such a request takes no slot;
 * - `resume: true`: it continues a download the client began — a single range that does not
 *   start at 0, applied because `If-Range` carries exactly the file's strong ETag (RFC 9110
 *   §13.1.5: "the client has a partial copy of that representation");
 * - `resume: false`: it starts a download (the whole file, a range from 0, or a range without
 *   If-Range, or with an If-Range date, which names no particular content).
 * The same functions decide the answer in sendContent (conditional.ts, range.ts).
 */
import type { Request } from 'express';
import { evaluateConditions, type Validators } from './conditional.ts';
import { parseRange } from './range.ts';

export function downloadIntent(req: Request, validators: Validators, size: number): { resume: boolean } | null {
  if (req.method !== 'GET') return null;
  const conditions = evaluateConditions(req.method, req.headers, validators);
  if (conditions.outcome !== 'proceed') return null;
  const range = parseRange(conditions.range, size);
  if (range.kind === 'unsatisfiable') return null;
  const raw = req.headers['if-range'];
  const ifRange = typeof raw === 'string' ? raw.trim() : undefined;
  return { resume: range.kind === 'single' && range.range.start > 0 && ifRange === validators.etag };
}
