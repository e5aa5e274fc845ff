import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.ts';
import { objectStoreContract } from '../object-store.contract.ts';
import { bodyOf } from '../test-bytes.ts';
import { LocalObjectStore } from './local.store.ts';

objectStoreContract('local', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'stratus-local-store-'));
  return { store: new LocalObjectStore({ name: 'local-test', root }), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('LocalObjectStore', () => {
  const roots: string[] = [];
  const fresh = async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'stratus-local-store-'));
    roots.push(root);
    return { root, store: new LocalObjectStore({ name: 'local-test', root }) };
  };
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  const reasonOf = async (promise: Promise<unknown>) =>
    promise.then(
      () => 'resolved',
      (e: unknown) => (AppError.is(e) ? `${e.code}:${String(e.details?.reason ?? '')}` : String(e)),
    );

  it('refuses keys that are not relative paths of plain segments', async () => {
    const { store } = await fresh();
    for (const key of ['', '../escape', 'a/../../b', '/etc/passwd', 'a//b', 'a/', './a', 'nul\0byte', 'x'.repeat(1025)]) {
      expect(await reasonOf(store.put(key, bodyOf(Buffer.from('x')), 1)), JSON.stringify(key)).toBe('BAD_INPUT:invalid-key');
      expect(await reasonOf(store.createMultipart(key))).toBe('BAD_INPUT:invalid-key');
      expect(await reasonOf(store.get(key))).toBe('BAD_INPUT:invalid-key');
    }
  });

  it('lays objects out as files written through tmp/, leaving nothing behind on a refused body', async () => {
    const { root, store } = await fresh();
    await store.put('a/b.txt', bodyOf(Buffer.from('hello')), 5);
    expect(await readFile(path.join(root, 'objects/a/b.txt'), 'utf8')).toBe('hello');
    expect(await reasonOf(store.put('a/c.txt', bodyOf(Buffer.from('hello')), 6))).toBe('BAD_INPUT:size-mismatch');
    expect(await readdir(path.join(root, 'tmp'))).toEqual([]);
    expect(await readdir(path.join(root, 'objects/a'))).toEqual(['b.txt']);
  });

  it('refuses a key that is also a prefix of other keys', async () => {
    const { store } = await fresh();
    await store.put('folder/file', bodyOf(Buffer.from('1')), 1);
    expect(await reasonOf(store.put('folder', bodyOf(Buffer.from('2')), 1))).toBe('BAD_INPUT:key-conflict');
    expect(await reasonOf(store.put('folder/file/deeper', bodyOf(Buffer.from('3')), 1))).toBe('BAD_INPUT:key-conflict');
    expect(await store.head('folder')).toBeNull();
    await expect(store.delete('folder')).resolves.toBeUndefined();
    expect(await store.head('folder/file')).toMatchObject({ size: 1 });
  });

  it('treats an upload id that is not one of its own as NOT_FOUND', async () => {
    const { store } = await fresh();
    expect(await reasonOf(store.listParts('k', '../../objects'))).toBe('NOT_FOUND:');
    const id = await store.createMultipart('k');
    expect(await reasonOf(store.listParts('other-key', id))).toBe('NOT_FOUND:');
  });

  it('recomputes an etag whose sidecar no longer describes the file', async () => {
    const { root, store } = await fresh();
    await store.put('k', bodyOf(Buffer.from('old')), 3);
    await writeFile(path.join(root, 'objects/k'), 'changed behind its back');
    expect(await store.head('k')).toMatchObject({ size: 23, etag: createHash('md5').update('changed behind its back').digest('hex') });
  });

  it('gives S3-style etags: MD5 for put, md5-of-md5s-N for multipart', async () => {
    const { store } = await fresh();
    const put = await store.put('p', bodyOf(Buffer.from('abc')), 3);
    expect(put.etag).toBe(createHash('md5').update('abc').digest('hex'));
    const id = await store.createMultipart('m');
    const a = await store.uploadPart('m', id, 1, bodyOf(Buffer.from('ab')), 2);
    const b = await store.uploadPart('m', id, 2, bodyOf(Buffer.from('c')), 1);
    const done = await store.completeMultipart('m', id, [a, b]);
    const md5s = createHash('md5').update(Buffer.from(a.etag, 'hex')).update(Buffer.from(b.etag, 'hex')).digest('hex');
    expect(done.etag).toBe(`${md5s}-2`);
    expect(await store.listMultipartUploads()).toEqual([]);
  });
});
