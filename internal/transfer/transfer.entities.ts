/**
 * One row per transfer job: what the admin view lists and what makes a job safe to run twice.
 * - `activeKey` is the blob id while the job is QUEUED or RUNNING and null after; its unique index
 *   keeps one live job per blob, so the drainer and the upload hook can enqueue without checking.
 * - `sourceKey` is recorded before the copy starts: a run that finds the blob already switched
 *   (the previous run died after its commit) still knows which source object to delete.
 */
import { EntitySchema } from '@mikro-orm/core';

export const TRANSFER_STATUSES = ['QUEUED', 'RUNNING', 'DONE', 'FAILED'] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];
export const TRANSFER_MODES = ['move', 'copy'] as const;
export type TransferMode = (typeof TRANSFER_MODES)[number];

export class TransferJobRow {
  id!: string;
  blobId!: string;
  fromBackend!: string;
  toBackend!: string;
  mode!: TransferMode;
  status!: TransferStatus;
  activeKey!: string | null;
  /** Runs started (a redelivery after a crash counts). */
  attempts!: number;
  lastError!: string | null;
  sourceKey!: string | null;
  /** Bytes copied by the current or last run. */
  bytes!: number;
  startedAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export const TransferJobSchema = new EntitySchema<TransferJobRow>({
  class: TransferJobRow,
  tableName: 'transfer_jobs',
  indexes: [
    { name: 'transfer_jobs_status_idx', properties: ['status', 'updatedAt'] },
    { name: 'transfer_jobs_blob_idx', properties: ['blobId'] },
  ],
  uniques: [{ name: 'transfer_jobs_active_unique', properties: ['activeKey'] }],
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    blobId: { type: 'string', length: 36 },
    fromBackend: { type: 'string', length: 63 },
    toBackend: { type: 'string', length: 63 },
    mode: { type: 'string', length: 8 },
    status: { type: 'string', length: 16 },
    activeKey: { type: 'string', length: 36, nullable: true },
    attempts: { type: 'integer', default: 0 },
    lastError: { type: 'text', nullable: true },
    sourceKey: { type: 'string', length: 512, nullable: true },
    bytes: { type: 'bigint', runtimeType: 'number', default: 0 } as never,
    startedAt: { type: 'datetime', length: 3, nullable: true },
    createdAt: { type: 'datetime', length: 3 },
    updatedAt: { type: 'datetime', length: 3 },
  },
});

export const transferEntities = [TransferJobSchema];
