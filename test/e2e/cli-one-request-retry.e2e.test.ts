/**
 * The CLI sends files of up to 32 MiB in one uploadFile request (cli/lib/upload-small.ts), where a
 * session's chunks were retried: the request itself is sent again after a passing failure, and an
 * attempt whose answer was lost, though the server stored the file, does not turn into a conflict
 * with itself. Faults come from a proxy between the CLI and the real server (test/support/http-faults.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, StratusApi } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { sendFile } from '../../cli/lib/upload-small.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { makeFile } from '../support/files.ts';
import { startFaultProxy, type Fault } from '../support/http-faults.ts';

const MiB = 1024 * 1024;
const SIZE = 6 * MiB + 77;

let t: TestApp;
let api: StratusApi;
let target: { host: string; port: number };

beforeAll(async () => {
  t = await startTestApp();
  api = new StratusApi(t.url, (await t.signUp()).token);
  target = { host: '127.0.0.1', port: Number(new URL(t.url).port) };
});
afterAll(() => t?.close());

async function newFolder(): Promise<string> {
  return (await api.gql<{ createFolder: { id: string } }>('mutation($n: String!) { createFolder(parentId: null, name: $n) { id } }', { n: `retry-${Date.now()}-${Math.random()}` })).createFolder.id;
}

async function children(folder: string): Promise<{ id: string; name: string; contentHash: string | null }[]> {
  const page = await api.gql<{ folder: { children: { edges: { node: { id: string; name: string; contentHash: string | null } }[] } } }>(
    'query($id: ID) { folder(id: $id) { children(first: 100) { edges { node { id name contentHash } } } } }',
    { id: folder },
  );
  return page.folder.children.edges.map((e) => e.node);
}

/** Uploads `file` through a proxy that spoils connections as `plan` says; the proxy's request lines too. */
async function throughFaults(plan: Fault[], file: string, folder: string, name: string) {
  const proxy = await startFaultProxy(target, plan);
  try {
    const sent = await sendFile(new StratusApi(proxy.url, api.token), file, { parentId: folder, name }).then(
      (s) => ({ ok: true as const, file: s.file, way: s.way }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    return { sent, requests: proxy.requests };
  } finally {
    await proxy.close();
  }
}

const uploads = (requests: string[]) => requests.filter((r) => r.startsWith('POST /graphql')).length;

describe('stratus upload: one request, sent again after a passing failure', () => {
  it('a connection cut in the middle of the body: sent again, stored once, with the local content hash', async () => {
    const file = await makeFile('cut.bin', SIZE);
    const folder = await newFolder();
    const { sent, requests } = await throughFaults([{ kind: 'drop-mid-body', afterBytes: 2 * MiB }], file, folder, 'cut.bin');
    expect(sent.ok && sent.way).toBe('request');
    expect(uploads(requests)).toBe(2);
    const local = await fileContentHash(file, SIZE);
    expect(sent.ok && sent.file).toMatchObject({ size: SIZE, contentHash: local });
    expect(await children(folder)).toEqual([{ id: sent.ok ? sent.file.id : '', name: 'cut.bin', contentHash: local }]);
  }, 60_000);

  it('an answer lost after the server stored the file: the next attempt finds the name taken by these very bytes and takes that file as its own', async () => {
    const file = await makeFile('lost.bin', SIZE);
    const folder = await newFolder();
    const { sent, requests } = await throughFaults([{ kind: 'lose-answer' }], file, folder, 'lost.bin');
    // Two uploads (the lost one stored the file, the second was refused name_taken), then the lookup.
    expect(uploads(requests)).toBe(3);
    const stored = await children(folder);
    expect(stored).toHaveLength(1);
    expect(sent.ok && sent.file).toMatchObject({ id: stored[0]?.id, size: SIZE, contentHash: await fileContentHash(file, SIZE) });
  }, 60_000);

  it('an answer lost, and the name held by other bytes: the conflict stands and the other file is untouched', async () => {
    const folder = await newFolder();
    const other = await makeFile('other.bin', SIZE, 'other bytes');
    const first = await sendFile(api, other, { parentId: folder, name: 'held.bin' });
    const file = await makeFile('held.bin', SIZE);
    const { sent } = await throughFaults([{ kind: 'drop-mid-body', afterBytes: MiB }], file, folder, 'held.bin');
    expect(sent.ok).toBe(false);
    expect(!sent.ok && sent.error).toBeInstanceOf(ApiError);
    expect(!sent.ok && sent.error).toMatchObject({ code: 'CONFLICT', details: { reason: 'name_taken' } });
    expect(await children(folder)).toEqual([{ id: first.file.id, name: 'held.bin', contentHash: first.file.contentHash }]);
  }, 60_000);

  it('a 503 UNAVAILABLE (refused for now, nothing stored): sent again and stored', async () => {
    const file = await makeFile('refused.bin', 300_000);
    const folder = await newFolder();
    const { sent, requests } = await throughFaults([{ kind: 'refuse-503' }, { kind: 'refuse-503' }], file, folder, 'refused.bin');
    expect(uploads(requests)).toBe(3);
    expect(sent.ok && sent.file).toMatchObject({ size: 300_000, contentHash: await fileContentHash(file, 300_000) });
    expect(await children(folder)).toHaveLength(1);
  }, 60_000);

  it('a final refusal is not sent again (name taken, no failure before it)', async () => {
    const folder = await newFolder();
    const file = await makeFile('twice.bin', 1000);
    await sendFile(api, file, { parentId: folder, name: 'twice.bin' });
    const { sent, requests } = await throughFaults([], file, folder, 'twice.bin');
    expect(!sent.ok && sent.error).toMatchObject({ code: 'CONFLICT', details: { reason: 'name_taken' } });
    // Identical bytes, but no attempt was lost: a second upload of a taken name is refused, as before.
    expect(uploads(requests)).toBe(1);
  }, 60_000);
});
