/**
 * List, then watch from the list's resourceVersion, forever. Written over client-node's `Watch`
 * rather than its `ListWatch` informer because the informer neither asks for bookmarks nor
 * restarts after a failed list or a non-410 error (it only reports them); a controller must.
 * - BOOKMARK events advance the resourceVersion, so a restart resumes close to now instead of at a
 *   version the server may already have compacted.
 * - A 410 Gone (as an ERROR event or as the HTTP status) means the version is too old: re-list.
 *   The re-list reports objects that vanished meanwhile as deletions.
 * - A stream that ends normally is resumed from the last seen version.
 * - Any other failure is retried with capped exponential backoff.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../internal/platform/logger.ts';

export interface WatchedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface ListWatchHandlers<T extends WatchedObject> {
  upsert(object: T): void;
  remove(object: T): void;
}

export interface ListWatchOptions<T extends WatchedObject> {
  config: KubeConfig;
  path: string;
  list: () => Promise<{ items: T[]; resourceVersion: string }>;
  handlers: ListWatchHandlers<T>;
  logger: Logger;
  maxBackoffMs?: number;
}

export class ListWatch<T extends WatchedObject> {
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private stopped = false;
  private controller: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private synced!: Promise<void>;
  private markSynced!: () => void;
  private listed = false;
  private failing = false;

  constructor(private readonly options: ListWatchOptions<T>) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** Starts the loop; resolves after the first successful list. */
  start(): Promise<void> {
    this.loop ??= this.run();
    return this.synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.controller?.abort();
    this.wake?.();
    this.markSynced();
    await this.loop;
  }

  /** Listed at least once and the last list/watch attempt did not fail (readiness, metrics). */
  get healthy(): boolean {
    return this.listed && !this.failing && !this.stopped;
  }

  /** The latest copy of every watched object. */
  objects(): T[] {
    return [...this.cache.values()];
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        const started = Date.now();
        const outcome = await this.watchOnce();
        if (outcome === 'expired') {
          this.options.logger.info({ resourceVersion: this.resourceVersion }, 'watch expired (410): re-listing');
          this.resourceVersion = '';
        }
        failures = 0;
        this.failing = false;
        // A server that closes streams at once must not turn this loop into a busy one.
        if (Date.now() - started < 200) await this.sleep(200);
      } catch (error) {
        if (this.stopped) break;
        if ((error as { statusCode?: number }).statusCode === 410) this.resourceVersion = '';
        failures += 1;
        this.failing = true;
        const delay = Math.min(this.options.maxBackoffMs ?? 30_000, 250 * 2 ** Math.min(failures, 10));
        this.options.logger.warn({ err: error, retryInMs: delay }, 'list/watch failed');
        await this.sleep(delay);
      }
    }
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.options.list();
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      const known = this.cache.get(key);
      this.cache.set(key, item);
      if (!known || known.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.options.handlers.upsert(item);
    }
    for (const [key, known] of this.cache) {
      if (seen.has(key)) continue;
      this.cache.delete(key);
      this.options.handlers.remove(known);
    }
    this.resourceVersion = resourceVersion;
    this.listed = true;
    this.failing = false;
    this.markSynced();
  }

  private watchOnce(): Promise<'closed' | 'expired'> {
    return new Promise((resolve, reject) => {
      let expired = false;
      let finished = false;
      const onEvent = (type: string, object: T & { code?: number }) => {
        if (type === 'ERROR') {
          if (object.code === 410) expired = true;
          else this.options.logger.warn({ status: object }, 'watch error event');
          return;
        }
        const version = object.metadata?.resourceVersion;
        if (version) this.resourceVersion = version;
        if (type === 'BOOKMARK') return;
        const key = keyOf(object);
        if (type === 'DELETED') {
          this.cache.delete(key);
          this.options.handlers.remove(object);
        } else {
          this.cache.set(key, object);
          this.options.handlers.upsert(object);
        }
      };
      const onDone = (error: unknown) => {
        finished = true;
        this.controller = null;
        if (error && !this.stopped && (error as { name?: string }).name !== 'AbortError') reject(error as Error);
        else resolve(expired ? 'expired' : 'closed');
      };
      new Watch(this.options.config)
        .watch(this.options.path, { resourceVersion: this.resourceVersion, allowWatchBookmarks: true }, onEvent, onDone)
        .then((controller) => {
          if (this.stopped) controller.abort();
          else if (!finished) {
            // Connected: the stream is open again after any earlier failure.
            this.controller = controller;
            this.failing = false;
          }
        })
        .catch(reject);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }
}

function keyOf(object: WatchedObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}
