/**
 * tus on the embedded stack (SQLite, in-memory KV, local disk; no service needed): a whole upload
 * in PATCHes that leave tails, its file and content hash, the empty upload, methods and paths
 * that are no tus upload.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedApp, type EmbeddedApp } from '../../../test/support/embedded.ts';
import { gql } from '../../../test/support/graphql.ts';
import { contentHashOf, metadata, OCTETS, TUS, tusRequest } from '../../../test/tus/tus-protocol-harness.ts';

let t: EmbeddedApp;
let alice: { token: string; userId: string };

beforeAll(async () => {
  t = await startEmbeddedApp();
  alice = await t.signUp();
});
afterAll(() => t?.close());

const auth = () => ({ authorization: `Bearer ${alice.token}`, ...TUS });
const filesNamed = async (name: string) => {
  const res = await gql<{ folder: { children: { edges: { node: { name: string; size: number; contentHash: string } }[] } } }>(t.url, '{ folder { children(first: 50) { edges { node { name size contentHash } } } } }', {}, alice.token);
  return res.data?.folder.children.edges.map((e) => e.node).filter((n) => n.name === name) ?? [];
};

describe('tus on the embedded stack', () => {
  it('PATCHes leaving tails end in the file with the right content hash', async () => {
    const bytes = randomBytes(17 * 1024 * 1024 + 3);
    const made = await tusRequest(`${t.url}/tus`, 'POST', { ...auth(), 'upload-length': String(bytes.length), 'upload-metadata': metadata({ filename: 'local.bin' }) });
    expect(made.status, made.text).toBe(201);
    const url = new URL(made.headers.get('location') ?? '', t.url).toString();
    for (const [from, to] of [[0, 5_000_000], [5_000_000, 16_777_217], [16_777_217, bytes.length]] as const) {
      const res = await tusRequest(url, 'PATCH', { ...auth(), ...OCTETS, 'upload-offset': String(from) }, bytes.subarray(from, to));
      expect([res.status, res.headers.get('upload-offset')]).toEqual([204, String(to)]);
    }
    expect(await filesNamed('local.bin')).toEqual([{ name: 'local.bin', size: bytes.length, contentHash: contentHashOf(bytes) }]);
  });

  it('an empty upload makes the empty file; a name taken is 409', async () => {
    const post = () => tusRequest(`${t.url}/tus/`, 'POST', { ...auth(), 'upload-length': '0', 'upload-metadata': metadata({ filename: 'nothing.txt' }) });
    expect((await post()).status).toBe(201);
    expect(await filesNamed('nothing.txt')).toEqual([{ name: 'nothing.txt', size: 0, contentHash: contentHashOf(Buffer.alloc(0)) }]);
    const again = await post();
    expect([again.status, again.text.split(':')[0]]).toEqual([409, 'name_taken']);
  });

  it('unknown methods and paths: 405 with Allow, 404 for a path that is no upload', async () => {
    const put = await tusRequest(`${t.url}/tus/`, 'PUT', auth());
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'OPTIONS, POST']);
    expect((await tusRequest(`${t.url}/tus/a/b`, 'HEAD', auth())).status).toBe(404);
    expect((await tusRequest(`${t.url}/tus/00000000-0000-0000-0000-000000000000`, 'HEAD', auth())).status).toBe(404);
  });
});
