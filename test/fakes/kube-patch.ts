/**
 * The two patch formats the fake Kubernetes API server accepts: JSON Patch (RFC 6902, client-node's
 * default) and JSON Merge Patch (RFC 7386). Both work on a deep copy and throw PatchError on a bad
 * operation, so a failed `test` leaves the stored object untouched, as on a real API server.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export class PatchError extends Error {
  override readonly name = 'PatchError';
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: Json;
  from?: string;
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`bad JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The container holding the pointed-to location, and the last token. */
function locate(doc: Json, pointer: string): { parent: JsonObject | Json[]; key: string } {
  const parts = tokens(pointer);
  const key = parts.pop();
  if (key === undefined) throw new PatchError('cannot operate on the document root');
  let node: Json = doc;
  for (const part of parts) {
    if (Array.isArray(node)) node = node[Number(part)] ?? null;
    else if (isObject(node)) node = node[part] ?? null;
    else node = null;
    if (node === null) throw new PatchError(`path "${pointer}" does not exist`);
  }
  if (!Array.isArray(node) && !isObject(node)) throw new PatchError(`path "${pointer}" does not exist`);
  return { parent: node, key };
}

function read(doc: Json, pointer: string): Json {
  const { parent, key } = locate(doc, pointer);
  const value = Array.isArray(parent) ? parent[Number(key)] : parent[key];
  if (value === undefined) throw new PatchError(`path "${pointer}" does not exist`);
  return value;
}

function add(doc: Json, pointer: string, value: Json): void {
  const { parent, key } = locate(doc, pointer);
  if (!Array.isArray(parent)) {
    parent[key] = clone(value);
    return;
  }
  const index = key === '-' ? parent.length : Number(key);
  if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new PatchError(`bad array index "${key}"`);
  parent.splice(index, 0, clone(value));
}

function remove(doc: Json, pointer: string): Json {
  const value = read(doc, pointer);
  const { parent, key } = locate(doc, pointer);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
  return value;
}

export function applyJsonPatch<T>(target: T, ops: unknown): T {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  const doc = clone(target) as Json;
  for (const raw of ops as JsonPatchOp[]) {
    switch (raw.op) {
      case 'add':
        add(doc, raw.path, raw.value ?? null);
        break;
      case 'remove':
        remove(doc, raw.path);
        break;
      case 'replace':
        remove(doc, raw.path);
        add(doc, raw.path, raw.value ?? null);
        break;
      case 'test':
        if (JSON.stringify(read(doc, raw.path)) !== JSON.stringify(raw.value ?? null)) {
          throw new PatchError(`test operation failed at "${raw.path}"`);
        }
        break;
      case 'move':
        add(doc, raw.path, remove(doc, raw.from ?? ''));
        break;
      case 'copy':
        add(doc, raw.path, read(doc, raw.from ?? ''));
        break;
      default:
        throw new PatchError(`unknown operation ${JSON.stringify((raw as { op?: unknown }).op)}`);
    }
  }
  return doc as T;
}

/** RFC 7386: objects merge recursively, null deletes, anything else (arrays included) replaces. */
export function applyMergePatch<T>(target: T, patch: unknown): T {
  return merge(clone(target) as Json, patch as Json) as T;
}

function merge(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = merge(out[key] ?? null, value);
  }
  return out;
}
