/**
 * The status machine of an upload session, as one table: every status change of a session goes
 * through `assertTransition` (UploadsRepository.transition checks each from → to against it before
 * its compare-and-set), and the status sets the code asks about are derived from the table.
 *
 * In short: a session is created PENDING (or COMPLETED when the very file is already there), takes
 * chunks while PENDING/UPLOADING, may be paused and resumed, goes through COMPLETING to COMPLETED
 * (or straight to COMPLETED by an ownership proof), and ends EXPIRED when idle, FAILED when a
 * recovered completion finds its bytes gone, or CANCELLED (then its row is deleted).
 */
import { AppError } from '../platform/errors.ts';

export const UPLOAD_STATUSES = ['PENDING', 'UPLOADING', 'PAUSED', 'COMPLETING', 'COMPLETED', 'CANCELLED', 'FAILED', 'EXPIRED'] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

/** Where a session may go from each status. A status absent from every list is only ever inserted. */
export const TRANSITIONS: Readonly<Record<UploadStatus, readonly UploadStatus[]>> = {
  // PENDING → COMPLETED: the instant upload (proveOwnership) before any chunk.
  PENDING: ['UPLOADING', 'PAUSED', 'COMPLETING', 'COMPLETED', 'CANCELLED', 'EXPIRED'],
  UPLOADING: ['PAUSED', 'COMPLETING', 'COMPLETED', 'CANCELLED', 'EXPIRED'],
  PAUSED: ['UPLOADING', 'CANCELLED', 'EXPIRED'],
  // Back to UPLOADING when the backend failed, the file could not be placed, a chunk was still
  // being sent, or a crashed completion is recovered; FAILED when the recovery finds no bytes.
  COMPLETING: ['UPLOADING', 'COMPLETED', 'FAILED'],
  COMPLETED: [],
  CANCELLED: [],
  // Cancelling a failed or expired session removes its row and whatever bytes it kept.
  FAILED: ['CANCELLED'],
  EXPIRED: ['CANCELLED'],
};

export function canTransition(from: UploadStatus, to: UploadStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** A change the table does not allow is a bug in the caller, never a client's mistake. */
export function assertTransition(from: UploadStatus, to: UploadStatus): void {
  if (!canTransition(from, to)) throw new AppError('INTERNAL', `Upload session status cannot change from ${from} to ${to}`);
}

/** Every status the table lets go to `to` in one step. */
export function sourcesOf(to: UploadStatus): UploadStatus[] {
  return UPLOAD_STATUSES.filter((from) => canTransition(from, to));
}

/** Statuses from which `to` can be reached through the table (not counting `to` itself). */
function reaching(to: UploadStatus): UploadStatus[] {
  const found = new Set<UploadStatus>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const from of UPLOAD_STATUSES) {
      if (found.has(from) || from === to) continue;
      if (TRANSITIONS[from].some((next) => next === to || found.has(next))) {
        found.add(from);
        grew = true;
      }
    }
  }
  return UPLOAD_STATUSES.filter((s) => found.has(s));
}

/**
 * Statuses from which the session can still reach COMPLETED: they hold backend bytes and reserve
 * their whole size against the quota, count towards the open-session limit, and expire when idle.
 */
export const UNFINISHED: readonly UploadStatus[] = reaching('COMPLETED');

/**
 * The rest: the session will not change any more but to be cancelled (its progress subscription
 * ends, its row is deleted after the retention).
 */
export const FINISHED: readonly UploadStatus[] = UPLOAD_STATUSES.filter((s) => !UNFINISHED.includes(s));

/** Finished without a file (cancelled, failed, expired): what such a session held is given back. */
export const ENDED_UNCOMMITTED: readonly UploadStatus[] = FINISHED.filter((s) => s !== 'COMPLETED');

export function isUnfinished(status: UploadStatus): boolean {
  return UNFINISHED.includes(status);
}

/** Statuses in which a session takes chunks, proofs and completion (not paused, not completing). */
export const ACTIVE: readonly UploadStatus[] = ['PENDING', 'UPLOADING'];

export function isActive(status: UploadStatus): boolean {
  return ACTIVE.includes(status);
}
