/**
 * What the operator needs to know about blobs, as a port: how many a backend still holds (the
 * finalizer waits for zero) and a way to ask for them to be moved. Tests use
 * `MemoryBlobInventory`; a deployment uses `SqlBlobInventory` over the Stratus database.
 */
import type { Orm } from '../internal/platform/db/orm.ts';

export interface BlobInventory {
  countBlobs(backend: string): Promise<number>;
  /**
   * Ask for every blob on `backend` to be moved to `to`. Must be idempotent: the operator asks
   * again after a restart or a leader change.
   */
  enqueueMigration(backend: string, to: string): Promise<void>;
}

export interface SqlBlobInventoryOptions {
  /**
   * Starts the move (the transfer service's API). Absent, enqueueing is a no-op: the transfer
   * service's drainer moves blobs off any backend the routing file marks `draining` on its own.
   */
  enqueue?: (backend: string, to: string) => Promise<void>;
}

/** Counts with one indexed query (`blobs_backend_idx`) against the primary. */
export class SqlBlobInventory implements BlobInventory {
  constructor(
    private readonly orm: Orm,
    private readonly options: SqlBlobInventoryOptions = {},
  ) {}

  async countBlobs(backend: string): Promise<number> {
    // The primary, not a replica: a lagging replica could report 0 while blobs remain and let the
    // finalizer go too early.
    const connection = this.orm.em.getConnection('write');
    const rows = await connection.execute<{ n: number | string }[]>('SELECT COUNT(*) AS n FROM blobs WHERE backend = ?', [backend]);
    return Number(rows[0]?.n ?? 0);
  }

  async enqueueMigration(backend: string, to: string): Promise<void> {
    await this.options.enqueue?.(backend, to);
  }
}

/** In-memory inventory for tests: counts are set by the test; migrations are recorded. */
export class MemoryBlobInventory implements BlobInventory {
  readonly counts = new Map<string, number>();
  readonly migrations: { backend: string; to: string }[] = [];

  set(backend: string, count: number): void {
    this.counts.set(backend, count);
  }

  countBlobs(backend: string): Promise<number> {
    return Promise.resolve(this.counts.get(backend) ?? 0);
  }

  enqueueMigration(backend: string, to: string): Promise<void> {
    this.migrations.push({ backend, to });
    return Promise.resolve();
  }
}
