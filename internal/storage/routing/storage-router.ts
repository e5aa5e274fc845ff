/**
 * StorageRouter: the live routing config and one ObjectStore per backend. Services ask it for the
 * store of a blob's recorded backend (`store(name)`) and for the backend that takes new uploads
 * (`defaultBackend()`). The config can be swapped while requests run (`apply`, or the file watcher
 * of `fromFile`), so switching the default backend needs no restart.
 */
import { type Stats, type FSWatcher, unwatchFile, watch, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../platform/errors.ts';
import { createLogger, type Logger } from '../../platform/logger.ts';
import type { ObjectStore, StoreType } from '../object-store.ts';
import { type BackendConfig, type BackendState, type RoutingConfig, parseRoutingConfig } from './routing-config.ts';
import { observeStore, type StoreCallObserver } from './observed-store.ts';
import { createStore } from './store-factory.ts';

export interface BackendSummary {
  name: string;
  type: StoreType;
  state: BackendState;
  isDefault: boolean;
  stagingFor: string | null;
}

export type DownloadMode = 'proxy' | 'redirect';

export type RoutingChangeListener = (config: RoutingConfig, previous: RoutingConfig) => void;

export interface StorageRouterOptions {
  log?: Logger;
  /** Builds the driver of a backend (default: the real drivers). */
  createStore?: (backend: BackendConfig) => ObjectStore;
  /** See every call to every store (tracing, metrics): observed-store.ts. */
  observers?: readonly StoreCallObserver[];
  /**
   * How long a replaced or removed store stays open after a swap, so requests that picked it up
   * just before (a part upload, a download stream) can finish. Default 30 s.
   */
  retireGraceMs?: number;
}

export interface FromFileOptions extends StorageRouterOptions {
  log: Logger;
  watch: boolean;
  /** Events arrive in bursts (a ConfigMap swap is several renames); act once they settle. Default 100 ms. */
  debounceMs?: number;
  /** Stat polling, for filesystems where `fs.watch` says nothing (NFS, some overlay mounts). Default 2 s. */
  pollIntervalMs?: number;
}

interface Entry {
  backend: BackendConfig;
  /** The settings the driver was built from; a backend whose identity is unchanged keeps its store. */
  identity: string;
  store: ObjectStore;
}

/** Replaced as a whole, so a reader never sees the config of one generation with the stores of another. */
interface Snapshot {
  config: RoutingConfig;
  canonical: string;
  entries: ReadonlyMap<string, Entry>;
}

export class StorageRouter {
  private current: Snapshot;
  private readonly log: Logger;
  private readonly build: (backend: BackendConfig) => ObjectStore;
  private readonly retireGraceMs: number;
  private readonly listeners = new Set<RoutingChangeListener>();
  private readonly retiring = new Map<ObjectStore, NodeJS.Timeout>();
  private readonly closing: Promise<void>[] = [];
  private stopWatching: (() => Promise<void>) | undefined;
  private closed = false;

  constructor(config: RoutingConfig, options: StorageRouterOptions = {}) {
    this.log = options.log ?? createLogger({ level: 'silent' });
    const build = options.createStore ?? createStore;
    const observers = options.observers ?? [];
    this.build = (backend) => observeStore(build(backend), observers);
    this.retireGraceMs = options.retireGraceMs ?? 30_000;
    const parsed = parseRoutingConfig(config);
    this.current = { config: parsed, canonical: stableJson(parsed), entries: this.buildEntries(parsed, new Map()) };
  }

  /** Reads the routing file; with `watch`, follows its changes until `close()`. */
  static async fromFile(file: string, options: FromFileOptions): Promise<StorageRouter> {
    const absolute = path.resolve(file);
    let text: string;
    try {
      text = await readFile(absolute, 'utf8');
    } catch (error) {
      throw new AppError('BAD_INPUT', `Cannot read storage routing config ${absolute}: ${(error as Error).message}`, {
        cause: error,
        details: { reason: 'unreadable_routing_config', path: absolute },
      });
    }
    const router = new StorageRouter(parseRoutingText(text, absolute), options);
    if (options.watch) router.watch(absolute, text, options);
    return router;
  }

  /** The store of a backend. A name not in the config is an operator problem (data points at a backend that is gone). */
  store(name: string): ObjectStore {
    this.assertOpen();
    const entry = this.current.entries.get(name);
    if (entry === undefined) {
      throw new AppError('UNAVAILABLE', `Storage backend "${name}" is not configured`, {
        details: { reason: 'unknown_backend', backend: name },
      });
    }
    return entry.store;
  }

  /** Where NEW uploads go. Callers record the returned name with the blob. */
  defaultBackend(): { name: string; store: ObjectStore } {
    this.assertOpen();
    const { config, entries } = this.current;
    const entry = entries.get(config.default);
    // parseRoutingConfig guarantees the default names a backend; this is a broken invariant, not input.
    if (entry === undefined) throw new AppError('INTERNAL', `Default storage backend "${config.default}" has no store`);
    return { name: config.default, store: entry.store };
  }

  /** How downloads of the backend's bytes are served (`proxy` for a backend no longer configured). */
  downloadMode(name: string): DownloadMode {
    return this.current.entries.get(name)?.backend.downloads ?? 'proxy';
  }

  backends(): BackendSummary[] {
    const { config } = this.current;
    return config.backends.map((b) => ({
      name: b.name,
      type: b.type,
      state: b.state,
      isDefault: b.name === config.default,
      stagingFor: b.stagingFor ?? null,
    }));
  }

  /** The config in force. It holds credentials: never log or return it whole. */
  config(): RoutingConfig {
    return this.current.config;
  }

  /** Called after each successful swap, with the new and the previous config. */
  onChange(listener: RoutingChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Swaps in a new config atomically. Throws (BAD_INPUT for an invalid config) and leaves the old
   * config in force if the new one is invalid or a driver cannot be built. Stores of backends whose
   * connection settings are unchanged are kept (a change of `state` or `stagingFor` alone keeps
   * the store); the others are closed after the grace period.
   */
  apply(config: RoutingConfig): void {
    this.assertOpen();
    // Validated again: the type alone does not promise unique names or an active default.
    const next = parseRoutingConfig(config);
    const canonical = stableJson(next);
    const previous = this.current;
    if (canonical === previous.canonical) return;
    const entries = this.buildEntries(next, previous.entries);
    this.current = { config: next, canonical, entries };
    for (const [name, entry] of previous.entries) {
      if (entries.get(name)?.store !== entry.store) this.retire(entry.store, this.retireGraceMs);
    }
    this.log.info(
      { default: next.default, backends: next.backends.map((b) => `${b.name}:${b.type}:${b.state}`) },
      'storage routing config applied',
    );
    for (const listener of this.listeners) {
      try {
        listener(next, previous.config);
      } catch (error) {
        this.log.error({ err: error }, 'storage routing change listener failed');
      }
    }
  }

  /** Stops watching and closes every store (including those still in their grace period). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopWatching?.();
    for (const entry of this.current.entries.values()) this.retire(entry.store, 0);
    for (const [store, timer] of this.retiring) {
      clearTimeout(timer);
      this.retiring.delete(store);
      this.closeStore(store);
    }
    await Promise.all(this.closing);
  }

  private buildEntries(config: RoutingConfig, previous: ReadonlyMap<string, Entry>): Map<string, Entry> {
    const entries = new Map<string, Entry>();
    const built: ObjectStore[] = [];
    try {
      for (const backend of config.backends) {
        const identity = identityOf(backend);
        const kept = previous.get(backend.name);
        const store = kept?.identity === identity ? kept.store : this.build(backend);
        if (store !== kept?.store) built.push(store);
        entries.set(backend.name, { backend, identity, store });
      }
    } catch (error) {
      for (const store of built) this.closeStore(store);
      if (AppError.is(error)) throw error;
      throw new AppError('BAD_INPUT', `Storage backend cannot be set up: ${(error as Error).message}`, {
        cause: error,
        details: { reason: 'invalid_routing_config' },
      });
    }
    return entries;
  }

  private retire(store: ObjectStore, graceMs: number): void {
    if (graceMs <= 0) {
      this.closeStore(store);
      return;
    }
    const timer = setTimeout(() => {
      this.retiring.delete(store);
      this.closeStore(store);
    }, graceMs);
    // A pending retirement must not keep a finished process alive.
    timer.unref();
    this.retiring.set(store, timer);
  }

  private closeStore(store: ObjectStore): void {
    const done = store.close().catch((error: unknown) => {
      this.log.warn({ err: error, backend: store.name }, 'closing a storage backend failed');
    });
    this.closing.push(done);
    void done.finally(() => this.closing.splice(this.closing.indexOf(done), 1));
  }

  private assertOpen(): void {
    if (this.closed) throw new AppError('UNAVAILABLE', 'Storage router is closed', { details: { reason: 'router_closed' } });
  }

  /**
   * Watches the file's DIRECTORY: a Kubernetes ConfigMap volume updates by swapping the `..data`
   * symlink, which changes neither the inode nor the events of `<dir>/config.json` itself; a
   * directory watch sees the swap. Stat polling (`watchFile`, which follows symlinks) backs it up
   * where inotify is silent. Any event just schedules a re-read; unchanged text is ignored.
   */
  private watch(file: string, initialText: string, options: FromFileOptions): void {
    const debounceMs = options.debounceMs ?? 100;
    let lastText = initialText;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let again = false;

    const reload = async (): Promise<void> => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        // Mid-edit or mid-swap; the next event (or poll) tries again.
        this.log.warn({ err: error, path: file }, 'storage routing config unreadable; the previous config stays in force');
        return;
      }
      if (text === lastText || this.closed) return;
      lastText = text;
      try {
        this.apply(parseRoutingText(text, file));
      } catch (error) {
        this.log.warn({ err: error, path: file }, 'storage routing config change refused; the previous config stays in force');
      }
    };
    const run = (): void => {
      if (running !== undefined) {
        again = true; // Serialised: an older read must never be applied after a newer one.
        return;
      }
      running = (async () => {
        do {
          again = false;
          await reload();
        } while (again && !this.closed);
      })()
        .catch((error: unknown) => this.log.error({ err: error }, 'storage routing config reload failed'))
        .finally(() => {
          running = undefined;
        });
    };
    const schedule = (): void => {
      if (this.closed) return;
      clearTimeout(timer);
      timer = setTimeout(run, debounceMs);
      timer.unref();
    };

    let dirWatcher: FSWatcher | undefined;
    try {
      dirWatcher = watch(path.dirname(file), { persistent: false }, schedule);
      dirWatcher.on('error', (error) => this.log.warn({ err: error, path: file }, 'storage routing directory watch failed; polling only'));
    } catch (error) {
      this.log.warn({ err: error, path: file }, 'storage routing directory watch unavailable; polling only');
    }
    const poll = (now: Stats, before: Stats): void => {
      if (now.mtimeMs !== before.mtimeMs || now.ino !== before.ino || now.size !== before.size) schedule();
    };
    watchFile(file, { interval: options.pollIntervalMs ?? 2_000, persistent: false }, poll);

    this.stopWatching = async () => {
      clearTimeout(timer);
      dirWatcher?.close();
      unwatchFile(file, poll);
      await running;
    };
  }
}

function parseRoutingText(text: string, file: string): RoutingConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AppError('BAD_INPUT', `Storage routing config ${file} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
      details: { reason: 'invalid_routing_config', path: file },
    });
  }
  // Relative `local` paths are relative to the path as mounted, not to the symlink target.
  return parseRoutingConfig(json, { baseDir: path.dirname(file) });
}

/** The backend without the fields that do not affect its driver. */
function identityOf(backend: BackendConfig): string {
  const { state: _state, stagingFor: _stagingFor, downloads: _downloads, ...connection } = backend;
  return stableJson(connection);
}

/** JSON with object keys sorted, so key order in the file does not count as a change. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
