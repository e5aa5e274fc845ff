/**
 * One decorator for every object-store call, so tracing and metrics see the same calls without
 * each wrapping the thirteen methods of `ObjectStore` again. An observer gets each call's backend,
 * type and operation and runs it (`around`), so it can time it, open a span, or count the outcome.
 * `get` is observed until its headers arrive (the body streams afterwards, counted where it is read).
 */
import type { Readable } from 'node:stream';
import type { BodyOptions, ByteRange, GetOptions, ObjectStore, PresignOptions, PutOptions, StoreType } from '../object-store.ts';

export type StoreOperation =
  | 'createMultipart'
  | 'uploadPart'
  | 'listParts'
  | 'completeMultipart'
  | 'abortMultipart'
  | 'listMultipartUploads'
  | 'put'
  | 'get'
  | 'head'
  | 'delete'
  | 'presignGet'
  | 'sweepTemporary';

export interface StoreCall {
  backend: string;
  type: StoreType;
  operation: StoreOperation;
  /** The object key, when the operation has one (for span attributes; never a metric label). */
  key?: string;
}

export interface StoreCallObserver {
  around<T>(call: StoreCall, run: () => Promise<T>): Promise<T>;
}

/** The store itself when there is no observer, so an unobserved process pays nothing. */
export function observeStore(store: ObjectStore, observers: readonly StoreCallObserver[]): ObjectStore {
  if (observers.length === 0) return store;
  const call = <T>(operation: StoreOperation, key: string | undefined, run: () => Promise<T>): Promise<T> => {
    const described: StoreCall = { backend: store.name, type: store.type, operation, ...(key === undefined ? {} : { key }) };
    // The first observer is outermost: it sees the time every later one adds.
    const chain = observers.reduceRight<() => Promise<T>>((inner, observer) => () => observer.around(described, inner), run);
    return chain();
  };
  const observed: ObjectStore = {
    name: store.name,
    type: store.type,
    capabilities: store.capabilities,
    createMultipart: (key: string, options?: PutOptions) => call('createMultipart', key, () => store.createMultipart(key, options)),
    uploadPart: (key: string, uploadId: string, partNumber: number, body: Readable, size: number, options?: BodyOptions) =>
      call('uploadPart', key, () => store.uploadPart(key, uploadId, partNumber, body, size, options)),
    listParts: (key: string, uploadId: string) => call('listParts', key, () => store.listParts(key, uploadId)),
    completeMultipart: (key: string, uploadId: string, parts: { partNumber: number; etag: string }[]) =>
      call('completeMultipart', key, () => store.completeMultipart(key, uploadId, parts)),
    abortMultipart: (key: string, uploadId: string) => call('abortMultipart', key, () => store.abortMultipart(key, uploadId)),
    listMultipartUploads: (prefix?: string) => call('listMultipartUploads', prefix, () => store.listMultipartUploads(prefix)),
    put: (key: string, body: Readable, size: number, options?: PutOptions) => call('put', key, () => store.put(key, body, size, options)),
    get: (key: string, range?: ByteRange, options?: GetOptions) => call('get', key, () => store.get(key, range, options)),
    head: (key: string) => call('head', key, () => store.head(key)),
    delete: (key: string) => call('delete', key, () => store.delete(key)),
    presignGet: (key: string, options: PresignOptions) => call('presignGet', key, () => store.presignGet(key, options)),
    close: () => store.close(),
  };
  const sweep = store.sweepTemporary?.bind(store);
  if (sweep) observed.sweepTemporary = (olderThanMs: number) => call('sweepTemporary', undefined, () => sweep(olderThanMs));
  return observed;
}
