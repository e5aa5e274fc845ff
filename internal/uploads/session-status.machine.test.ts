/**
 * The upload session's status table: the edges the services take (written out here, not read
 * from the table), every other pair refused, the derived sets, and the repository refusing an edge
 * the table does not have before it touches the database. Pure logic: no service needed.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../platform/errors.ts';
import { ACTIVE, assertTransition, canTransition, FINISHED, sourcesOf, TRANSITIONS, UNFINISHED, UPLOAD_STATUSES, type UploadStatus } from './session-status.machine.ts';
import { UploadsRepository } from './uploads.repository.ts';

/** Every status change the uploads code makes, and who makes it. */
const ALLOWED: [UploadStatus, UploadStatus, string][] = [
  ['PENDING', 'UPLOADING', 'first chunk'],
  ['PENDING', 'PAUSED', 'pauseUpload'],
  ['PENDING', 'COMPLETING', 'completeUpload'],
  ['PENDING', 'COMPLETED', 'proveOwnership'],
  ['PENDING', 'CANCELLED', 'cancelUpload'],
  ['PENDING', 'EXPIRED', 'sweeper'],
  ['UPLOADING', 'PAUSED', 'pauseUpload'],
  ['UPLOADING', 'COMPLETING', 'completeUpload'],
  ['UPLOADING', 'COMPLETED', 'proveOwnership'],
  ['UPLOADING', 'CANCELLED', 'cancelUpload'],
  ['UPLOADING', 'EXPIRED', 'sweeper'],
  ['PAUSED', 'UPLOADING', 'resumeUpload'],
  ['PAUSED', 'CANCELLED', 'cancelUpload'],
  ['PAUSED', 'EXPIRED', 'sweeper'],
  ['COMPLETING', 'UPLOADING', 'backend failure, placement refused, chunk in flight, recovery'],
  ['COMPLETING', 'COMPLETED', 'file placed'],
  ['COMPLETING', 'FAILED', 'recovery finds no bytes'],
  ['FAILED', 'CANCELLED', 'cancelUpload'],
  ['EXPIRED', 'CANCELLED', 'cancelUpload'],
];

const allowed = new Set(ALLOWED.map(([from, to]) => `${from}→${to}`));
const refused = UPLOAD_STATUSES.flatMap((from) => UPLOAD_STATUSES.map((to) => [from, to] as const)).filter(([from, to]) => !allowed.has(`${from}→${to}`));

describe('session status table', () => {
  it.each(ALLOWED)('%s → %s (%s) is allowed', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it.each(refused)('%s → %s is refused', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => assertTransition(from, to)).toThrow(AppError);
  });

  it('has exactly the listed edges (every other pair, self-loops included, refused)', () => {
    const edges = UPLOAD_STATUSES.flatMap((from) => TRANSITIONS[from].map((to) => `${from}→${to}`));
    expect(edges.sort()).toEqual([...allowed].sort());
    expect(refused).toHaveLength(UPLOAD_STATUSES.length ** 2 - ALLOWED.length);
    for (const status of UPLOAD_STATUSES) expect(canTransition(status, status)).toBe(false);
  });

  it('a refused change is an INTERNAL error naming both statuses', () => {
    const error = (() => {
      try {
        assertTransition('COMPLETED', 'UPLOADING');
      } catch (e) {
        return e;
      }
    })();
    expect(AppError.is(error, 'INTERNAL')).toBe(true);
    expect((error as AppError).message).toContain('COMPLETED to UPLOADING');
  });

  it('derives the unfinished and finished sets from the table', () => {
    expect([...UNFINISHED]).toEqual(['PENDING', 'UPLOADING', 'PAUSED', 'COMPLETING']);
    expect([...FINISHED]).toEqual(['COMPLETED', 'CANCELLED', 'FAILED', 'EXPIRED']);
    expect([...ACTIVE]).toEqual(['PENDING', 'UPLOADING']);
  });

  it('moves "to X from wherever allowed" from exactly the statuses the services name', () => {
    // SessionCore.moveTo: cancel, pause, expire, complete, prove/finish, fail.
    expect(sourcesOf('CANCELLED')).toEqual(['PENDING', 'UPLOADING', 'PAUSED', 'FAILED', 'EXPIRED']);
    expect(sourcesOf('PAUSED')).toEqual(['PENDING', 'UPLOADING']);
    expect(sourcesOf('EXPIRED')).toEqual(['PENDING', 'UPLOADING', 'PAUSED']);
    expect(sourcesOf('COMPLETING')).toEqual(['PENDING', 'UPLOADING']);
    expect(sourcesOf('COMPLETED')).toEqual(['PENDING', 'UPLOADING', 'COMPLETING']);
    expect(sourcesOf('FAILED')).toEqual(['COMPLETING']);
    // UPLOADING is reached from three places for three reasons: its callers name their one source.
    expect(sourcesOf('UPLOADING')).toEqual(['PENDING', 'PAUSED', 'COMPLETING']);
  });

  it('the repository refuses an edge the table lacks before it touches the database', async () => {
    // No ORM at all: reaching the database would fail with a TypeError, not the table's refusal.
    const repo = new UploadsRepository(undefined as never);
    const refusal = await repo.transition('s', ['PENDING', 'PAUSED'], 'COMPLETING').catch((e: unknown) => e);
    expect(AppError.is(refusal, 'INTERNAL')).toBe(true);
    expect((refusal as AppError).message).toContain('PAUSED to COMPLETING');
  });
});
