/**
 * What a careless or unlucky client does to an upload session, on the real stack (MariaDB, Redis)
 * with each kind of backend (Ceph RGW and local disk):
 * - wrong bytes of the right length in one chunk: completion refuses the content hash, and the
 *   session completes once the right bytes are resent (it used to drop every resend);
 * - declared block hashes: a wrong chunk is refused on arrival, naming the chunk;
 * - a resend of a recorded chunk racing completion: completion waits instead of assembling;
 * - the name taken or the folder trashed between createUpload and completeUpload: the session and
 *   its bytes stay, and completeUpload places the file under another name or folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StratusApi, SESSION_FIELDS, type SessionView } from '../../cli/lib/api.ts';
import { BLOCK_SIZE, combineBlockDigests } from '../../internal/files/content-hash.ts';
import { cephBackend, startTestApp, uploadSmall, type TestApp } from '../support/app.ts';

const MiB = 1024 * 1024;

async function failure(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'no error',
    (e: { code?: string; details?: { reason?: string } }) => `${e.code}${e.details?.reason ? `:${e.details.reason}` : ''}`,
  );
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const blockDigests = (b: Buffer) => Array.from({ length: Math.ceil(b.length / BLOCK_SIZE) }, (_, i) => createHash('sha256').update(b.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE)).digest());

describe.each(['ceph', 'local'] as const)('upload integrity on %s', (backend) => {
  let t: TestApp;
  let alice: StratusApi;
  // 12 MiB in 8 MiB chunks: two chunks, three 4 MiB blocks.
  const bytes = randomBytes(12 * MiB);
  const blocks = blockDigests(bytes);
  const contentHash = combineBlockDigests(blocks);
  const blockHashes = blocks.map((d) => d.toString('hex'));
  const right = (i: number) => bytes.subarray(i * 8 * MiB, (i + 1) * 8 * MiB);
  const wrong = (i: number) => Buffer.alloc(right(i).length, 7);

  beforeAll(async () => {
    t = await startTestApp({
      routing: (dir) => ({
        default: backend,
        backends: [cephBackend(), { name: 'local', type: 'local', path: path.join(dir, 'objects'), state: 'active' }],
      }),
    });
    alice = new StratusApi(t.url, (await t.signUp()).token);
  });
  afterAll(() => t?.close());

  const create = (input: Record<string, unknown>) =>
    alice.gql<{ createUpload: SessionView }>(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: { size: bytes.length, chunkSize: 8 * MiB, ...input } }).then((r) => r.createUpload);
  const complete = (id: string, place: { name?: string; parentId?: string | null } = {}) =>
    alice.gql<{ completeUpload: SessionView & { file: { id: string; name: string; parentId: string } | null } }>(
      `mutation($id: ID!, $n: String, $p: ID) { completeUpload(sessionId: $id, name: $n, parentId: $p) { ${SESSION_FIELDS} file { id name parentId } } }`,
      { id, n: place.name, p: place.parentId },
    ).then((r) => r.completeUpload);
  const session = (id: string) => alice.gql<{ upload: SessionView }>(`query($id: ID!) { upload(id: $id) { ${SESSION_FIELDS} } }`, { id }).then((r) => r.upload);
  const put = async (sid: string, index: number, body: Buffer | ReadableStream<Uint8Array>) => {
    const init: RequestInit & { duplex?: 'half' } = { method: 'PUT', headers: alice.headers(), body, duplex: 'half' };
    const res = await fetch(`${t.url}/upload/${sid}/${index}`, init);
    return { status: res.status, body: (await res.json()) as { error?: { code: string; details?: { reason?: string; chunk?: number } }; alreadyRecorded?: boolean } };
  };
  const download = async (fileId: string) => {
    const res = await fetch(`${t.url}/files/${fileId}/content`, { headers: alice.headers() });
    return sha256(Buffer.from(await res.arrayBuffer()));
  };
  const name = () => `f-${randomBytes(4).toString('hex')}.bin`;

  it('completes after a content-hash mismatch once the right bytes of the bad chunk are resent', async () => {
    const s = await create({ name: name(), contentHash });
    expect((await put(s.id, 0, right(0))).status).toBe(200);
    expect((await put(s.id, 1, wrong(1))).status).toBe(200);
    expect(await failure(complete(s.id))).toBe('BAD_INPUT:content_hash_mismatch');
    expect((await session(s.id)).status).toBe('UPLOADING');
    // The resend replaces the recorded chunk.
    const resend = await put(s.id, 1, right(1));
    expect([resend.status, resend.body.alreadyRecorded]).toEqual([200, false]);
    // The same bytes again change nothing.
    expect((await put(s.id, 1, right(1))).body.alreadyRecorded).toBe(true);
    const done = await complete(s.id);
    expect(done.status).toBe('COMPLETED');
    expect(await download(done.file?.id ?? '')).toBe(sha256(bytes));
  });

  it('refuses a wrong chunk on arrival when the block hashes were declared, naming the chunk', async () => {
    expect(await failure(create({ name: name(), contentHash, blockHashes: [...blockHashes].reverse() }))).toBe('BAD_INPUT:block_hashes_mismatch');
    expect(await failure(create({ name: name(), contentHash, blockHashes: blockHashes.slice(1) }))).toBe('BAD_INPUT:block_hashes_count');
    expect(await failure(create({ name: name(), blockHashes }))).toBe('BAD_INPUT:block_hashes_without_content_hash');
    expect(await failure(create({ name: name(), contentHash, blockHashes: ['x', ...blockHashes.slice(1)] }))).toBe('BAD_INPUT:block_hashes_invalid');
    const s = await create({ name: name(), contentHash, blockHashes });
    const refused = await put(s.id, 1, wrong(1));
    expect([refused.status, refused.body.error?.details?.reason, refused.body.error?.details?.chunk]).toEqual([400, 'digest_mismatch', 1]);
    expect((await session(s.id)).uploadedChunks).toEqual([]);
    expect((await put(s.id, 0, right(0))).status).toBe(200);
    expect((await put(s.id, 1, right(1))).status).toBe(200);
    const done = await complete(s.id);
    expect(done.status).toBe('COMPLETED');
    expect(await download(done.file?.id ?? '')).toBe(sha256(bytes));
  });

  it('does not complete while a recorded chunk is being sent again', async () => {
    const s = await create({ name: name(), contentHash });
    await put(s.id, 0, right(0));
    await put(s.id, 1, right(1));
    // A resend of chunk 0 that stalls half-way: its lock is held.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const half = right(0).subarray(0, 4 * MiB);
    const rest = right(0).subarray(4 * MiB);
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(half));
        await held;
        controller.enqueue(new Uint8Array(rest));
        controller.close();
      },
    });
    const resending = put(s.id, 0, stream);
    await new Promise((r) => setTimeout(r, 500));
    expect(await failure(complete(s.id))).toBe('CONFLICT:chunk_in_progress');
    expect((await session(s.id)).status).toBe('UPLOADING');
    release();
    expect((await resending).status).toBe(200);
    const done = await complete(s.id);
    expect(done.status).toBe('COMPLETED');
    expect(await download(done.file?.id ?? '')).toBe(sha256(bytes));
  });

  it('keeps the bytes when the name was taken meanwhile, and completes under a new name', async () => {
    const taken = name();
    const s = await create({ name: taken, contentHash });
    await put(s.id, 0, right(0));
    await put(s.id, 1, right(1));
    expect((await uploadSmall(t.url, alice.token ?? '', taken, 'someone was faster')).data?.uploadFile.name).toBe(taken);
    expect(await failure(complete(s.id))).toBe('CONFLICT:name_taken');
    const kept = await session(s.id);
    expect([kept.status, kept.missingChunks]).toEqual(['UPLOADING', []]);
    // A retry with the same clash changes nothing; another name lands it.
    expect(await failure(complete(s.id))).toBe('CONFLICT:name_taken');
    const done = await complete(s.id, { name: `renamed-${taken}` });
    expect([done.status, done.file?.name]).toEqual(['COMPLETED', `renamed-${taken}`]);
    expect(await download(done.file?.id ?? '')).toBe(sha256(bytes));
  });

  it('keeps the bytes when the folder was trashed meanwhile, and completes into another folder', async () => {
    const folder = (await alice.gql<{ createFolder: { id: string } }>('mutation($n: String!) { createFolder(parentId: null, name: $n) { id } }', { n: name() })).createFolder;
    const s = await create({ name: name(), parentId: folder.id });
    await put(s.id, 0, right(0));
    await put(s.id, 1, right(1));
    await alice.gql('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: folder.id });
    expect(await failure(complete(s.id))).toBe('CONFLICT:parent_gone');
    expect((await session(s.id)).status).toBe('UPLOADING');
    const done = await complete(s.id, { parentId: null });
    expect(done.status).toBe('COMPLETED');
    expect(done.file?.parentId).not.toBe(folder.id);
    expect(await download(done.file?.id ?? '')).toBe(sha256(bytes));
  });
});
