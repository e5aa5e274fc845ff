/**
 * The state behind the fake Kubernetes API server: objects per resource, one cluster-wide
 * resourceVersion counter, a bounded event history for watch resumption, and the write semantics
 * of a real API server that controllers rely on:
 * - optimistic concurrency: a write carrying a stale `metadata.resourceVersion` is a 409 Conflict;
 * - status subresource: the main endpoint ignores `status`, `/status` changes nothing else;
 * - `metadata.generation` moves only when the spec (anything but metadata and status) changes;
 * - a write that changes nothing keeps the resourceVersion and emits no event;
 * - finalizers: DELETE of an object that has some only sets `deletionTimestamp` (MODIFIED); the
 *   write that removes the last one deletes it (DELETED).
 */
import { randomUUID } from 'node:crypto';
import { clone } from './kube-patch.ts';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generateName?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** Has a status subresource (custom resources with `subresources.status`). */
  status: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  type: WatchEventType;
  resource: string;
  namespace: string;
  object: KubeObject;
  rv: number;
}

export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const resourceKey = (def: Pick<ResourceDef, 'group' | 'plural'>): string => `${def.group}/${def.plural}`;

export class KubeStore {
  private rv = 1;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: StoredEvent[] = [];
  /** Events at or below this version are gone: a watch from an older version gets 410 Expired. */
  private compactedRv = 0;
  private readonly listeners = new Set<(event: StoredEvent) => void>();

  constructor(private readonly historyLimit = 500) {}

  get resourceVersion(): number {
    return this.rv;
  }

  onEvent(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops the whole history, as an etcd compaction does. */
  expireHistory(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  /** Events after `rv` for a resource in a namespace; null when that version is compacted away. */
  eventsSince(resource: string, namespace: string, rv: number): StoredEvent[] | null {
    if (rv < this.compactedRv) return null;
    return this.history.filter((e) => e.rv > rv && e.resource === resource && e.namespace === namespace);
  }

  list(def: ResourceDef, namespace: string): KubeObject[] {
    return [...this.bucket(def).values()]
      .filter((o) => o.metadata.namespace === namespace)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map(clone);
  }

  get(def: ResourceDef, namespace: string, name: string): KubeObject {
    const found = this.bucket(def).get(`${namespace}/${name}`);
    if (!found) throw new KubeError(404, 'NotFound', `${def.plural}${def.group ? `.${def.group}` : ''} "${name}" not found`);
    return clone(found);
  }

  create(def: ResourceDef, namespace: string, body: KubeObject): KubeObject {
    const meta = body.metadata ?? ({} as KubeObject['metadata']);
    const name = meta.name || (meta.generateName ? `${meta.generateName}${randomUUID().slice(0, 5)}` : '');
    if (!name) throw new KubeError(422, 'Invalid', 'metadata.name: Required value');
    const key = `${namespace}/${name}`;
    if (this.bucket(def).has(key)) {
      throw new KubeError(409, 'AlreadyExists', `${def.plural}${def.group ? `.${def.group}` : ''} "${name}" already exists`);
    }
    const object = clone(body);
    if (def.status) delete object.status;
    if (def.kind === 'Secret') normalizeSecret(object);
    object.apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    object.kind = def.kind;
    object.metadata = {
      ...meta,
      name,
      namespace,
      uid: randomUUID(),
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      ...(def.group && def.group !== 'coordination.k8s.io' ? { generation: 1 } : {}),
    };
    delete object.metadata.resourceVersion;
    delete object.metadata.deletionTimestamp;
    return this.commit(def, 'ADDED', object);
  }

  /** PUT of the object (`subresource` false) or of its status (`subresource` true). */
  update(def: ResourceDef, namespace: string, name: string, body: KubeObject, subresource: boolean): KubeObject {
    const current = this.get(def, namespace, name);
    const asked = body.metadata?.resourceVersion;
    if (asked !== undefined && asked !== '' && asked !== current.metadata.resourceVersion) {
      throw new KubeError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${def.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    let next: KubeObject;
    if (subresource) {
      next = { ...current, status: clone(body.status) };
    } else {
      next = clone(body);
      if (def.kind === 'Secret') normalizeSecret(next);
      if (def.status) next.status = current.status;
      next.apiVersion = current.apiVersion;
      next.kind = current.kind;
      // What the server owns never comes from the client.
      next.metadata = {
        ...body.metadata,
        name,
        namespace,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        ...(current.metadata.deletionTimestamp ? { deletionTimestamp: current.metadata.deletionTimestamp } : {}),
        ...(current.metadata.generation !== undefined ? { generation: current.metadata.generation } : {}),
      };
      if (next.metadata.finalizers?.length === 0) delete next.metadata.finalizers;
      if (current.metadata.generation !== undefined && specOf(next) !== specOf(current)) {
        next.metadata.generation = current.metadata.generation + 1;
      }
    }
    if (next.status === undefined) delete next.status;
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    if (JSON.stringify(next) === JSON.stringify(current)) return current;
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
      return this.remove(def, next);
    }
    return this.commit(def, 'MODIFIED', next);
  }

  delete(def: ResourceDef, namespace: string, name: string): KubeObject {
    const current = this.get(def, namespace, name);
    if (current.metadata.finalizers?.length) {
      if (current.metadata.deletionTimestamp) return current;
      current.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      return this.commit(def, 'MODIFIED', current);
    }
    return this.remove(def, current);
  }

  private remove(def: ResourceDef, object: KubeObject): KubeObject {
    this.bucket(def).delete(`${object.metadata.namespace}/${object.metadata.name}`);
    object.metadata.resourceVersion = String(++this.rv);
    this.record(def, 'DELETED', object);
    return clone(object);
  }

  private commit(def: ResourceDef, type: WatchEventType, object: KubeObject): KubeObject {
    object.metadata.resourceVersion = String(++this.rv);
    this.bucket(def).set(`${object.metadata.namespace}/${object.metadata.name}`, clone(object));
    this.record(def, type, object);
    return clone(object);
  }

  private record(def: ResourceDef, type: WatchEventType, object: KubeObject): void {
    const event: StoredEvent = { type, resource: resourceKey(def), namespace: object.metadata.namespace ?? '', object: clone(object), rv: this.rv };
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedRv = dropped[dropped.length - 1]?.rv ?? this.compactedRv;
    }
    for (const listener of this.listeners) listener(event);
  }

  private bucket(def: ResourceDef): Map<string, KubeObject> {
    const key = resourceKey(def);
    let bucket = this.objects.get(key);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(key, bucket);
    }
    return bucket;
  }
}

function specOf(object: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = object;
  return JSON.stringify(rest);
}

/** A Secret's `stringData` is write-only: the server folds it into base64 `data`. */
function normalizeSecret(object: KubeObject): void {
  const stringData = object.stringData as Record<string, string> | undefined;
  if (!stringData) return;
  const data = { ...((object.data as Record<string, string> | undefined) ?? {}) };
  for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(value, 'utf8').toString('base64');
  object.data = data;
  delete object.stringData;
}
