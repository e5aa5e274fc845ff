/**
 * uploadFile's `mimeType` argument on MariaDB, Redis and Ceph. A multipart part always has a
 * Content-Type (application/octet-stream when the client knows none), so without the argument a
 * client could not upload a file of unknown type in one request and have no type recorded, as a
 * session records it: the CLI and the web app sent such files through a session (four requests)
 * for that alone. Absent: the part's type, as before; null: no type; a string: that type, checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { gql, quotaUsed, rootNames } from '../support/graphql.ts';

let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await startTestApp();
  token = (await t.signUp()).token;
});
afterAll(() => t?.close());

interface Answer {
  data?: { uploadFile: { id: string; mimeType: string | null } } | null;
  errors?: { extensions?: { code?: string; details?: { field?: string; reason?: string } } }[];
}

/** uploadFile with the part typed `partType`; `mimeType` sent as given, left out when undefined. */
async function upload(name: string, partType: string, mimeType?: string | null): Promise<Answer> {
  const form = new FormData();
  form.append('operations', JSON.stringify({
    query: 'mutation($f: Upload!, $t: String) { uploadFile(file: $f, mimeType: $t) { id mimeType } }',
    variables: { f: null, ...(mimeType === undefined ? {} : { t: mimeType }) },
  }));
  form.append('map', JSON.stringify({ 0: ['variables.f'] }));
  form.append('0', new Blob([`bytes of ${name}`], { type: partType }), name);
  const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, body: form });
  return (await res.json()) as Answer;
}

const servedType = async (id: string) => (await fetch(`${t.url}/files/${id}/content`, { headers: { authorization: `Bearer ${token}` } })).headers.get('content-type');

describe("uploadFile's mimeType", () => {
  it("absent: the part's type, as before (lower-cased; application/octet-stream kept)", async () => {
    expect((await upload('a.png', 'image/PNG')).data?.uploadFile.mimeType).toBe('image/png');
    expect((await upload('a.bin', 'application/octet-stream')).data?.uploadFile.mimeType).toBe('application/octet-stream');
  });

  it("absent, and a part's type over the column's 255 characters: application/octet-stream, as for any type it cannot record", async () => {
    const answer = await upload('long-type.bin', `x/${'y'.repeat(300)}`);
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.uploadFile.mimeType).toBe('application/octet-stream');
  });

  it('null: no type recorded, served as application/octet-stream', async () => {
    const answer = await upload('Makefile', 'application/octet-stream', null);
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.uploadFile.mimeType).toBeNull();
    const id = answer.data!.uploadFile.id;
    expect(await servedType(id)).toBe('application/octet-stream');
    const again = await gql<{ file: { mimeType: string | null } }>(t.url, 'query($id: ID!) { file(id: $id) { mimeType } }', { id }, token);
    expect(again.data?.file.mimeType).toBeNull();
  });

  it("a type: recorded instead of the part's, lower-cased, and served", async () => {
    const answer = await upload('notes.md', 'application/octet-stream', 'text/Markdown');
    expect(answer.data?.uploadFile.mimeType).toBe('text/markdown');
    expect(await servedType(answer.data!.uploadFile.id)).toMatch(/^text\/markdown/);
  });

  it('not a media type: BAD_INPUT on the field before a byte is stored, nothing kept', async () => {
    const before = await quotaUsed(t.url, token);
    for (const bad of ['not a type', 'text', 'text/plain; charset=utf-8', '', `x/${'y'.repeat(300)}`]) {
      const answer = await upload('refused.txt', 'text/plain', bad);
      expect(answer.errors?.[0]?.extensions, JSON.stringify(bad)).toMatchObject({ code: 'BAD_INPUT', details: { field: 'mimeType', reason: 'invalid' } });
    }
    expect(await quotaUsed(t.url, token)).toBe(before);
    expect(await rootNames(t.url, token)).not.toContain('refused.txt');
  });
});
