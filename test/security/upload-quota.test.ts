/**
 * Attack: fill the disk with unfinished uploads. Before, three 9 GiB sessions were accepted on a
 * 10 GiB quota and their chunks stored while `quota.used` did not move. Now every unfinished
 * session reserves its size against the quota from createUpload on (released when it is cancelled
 * or expires, turned into `used` when it completes), and uploadFile counts the reservations too.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UploadSessionRow } from '../../internal/uploads/uploads.entities.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { gql } from '../support/graphql.ts';

const MiB = 1024 * 1024;
const QUOTA = 64 * MiB;
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { DEFAULT_QUOTA_BYTES: String(QUOTA) } });
});
afterAll(() => t?.close());

const create = (token: string, size: number) =>
  gql<{ createUpload: { id: string; chunkSize: number } }>(t.url, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id chunkSize } }', { i: { name: `u-${randomBytes(4).toString('hex')}.bin`, size } }, token);
const quota = async (token: string) => (await gql<{ me: { quota: { used: number; limit: number; reserved: number } } }>(t.url, '{ me { quota { used limit reserved } } }', {}, token)).data?.me.quota;
const code = (r: { errors?: readonly { extensions?: { code?: unknown } }[] }) => r.errors?.[0]?.extensions?.code;

describe('unfinished uploads reserve their size against the quota', () => {
  it('refuses a session that does not fit beside the open ones, and frees the room on cancel', async () => {
    const alice = await t.signUp();
    const first = await create(alice.token, 40 * MiB);
    expect(first.data?.createUpload.id).toBeTruthy();
    expect(await quota(alice.token)).toEqual({ used: 0, limit: QUOTA, reserved: 40 * MiB });
    const second = await create(alice.token, 40 * MiB);
    expect(code(second)).toBe('QUOTA_EXCEEDED');
    // uploadFile sees the reservation too: 30 MiB do not fit in the 24 MiB left.
    expect((await uploadSmall(t.url, alice.token, 'small.bin', Buffer.alloc(30 * MiB, 1))).errors?.[0]?.extensions?.code).toBe('QUOTA_EXCEEDED');
    expect((await uploadSmall(t.url, alice.token, 'fits.bin', Buffer.alloc(20 * MiB, 1))).data?.uploadFile.size).toBe(20 * MiB);
    await gql(t.url, 'mutation($id: ID!) { cancelUpload(sessionId: $id) }', { id: first.data?.createUpload.id }, alice.token);
    expect(await quota(alice.token)).toEqual({ used: 20 * MiB, limit: QUOTA, reserved: 0 });
    expect((await create(alice.token, 40 * MiB)).data?.createUpload.id).toBeTruthy();
  });

  it('releases the reservation of a session that expired', async () => {
    const bob = await t.signUp();
    const s = await create(bob.token, 50 * MiB);
    expect(code(await create(bob.token, 20 * MiB))).toBe('QUOTA_EXCEEDED');
    await t.app.runtime.orm.em.fork().nativeUpdate(UploadSessionRow, { id: s.data?.createUpload.id }, { expiresAt: new Date(Date.now() - 1000) });
    await t.app.uploads.sweeper.sweep();
    expect((await quota(bob.token))?.reserved).toBe(0);
    expect((await create(bob.token, 20 * MiB)).data?.createUpload.id).toBeTruthy();
  });

  it('holds the quota under a burst of concurrent creations', async () => {
    const carol = await t.signUp();
    const burst = await Promise.all(Array.from({ length: 12 }, () => create(carol.token, 20 * MiB)));
    const made = burst.filter((r) => r.data?.createUpload.id).length;
    expect(burst.filter((r) => !r.data?.createUpload).every((r) => code(r) === 'QUOTA_EXCEEDED')).toBe(true);
    expect(made).toBeGreaterThanOrEqual(1);
    expect(made * 20 * MiB).toBeLessThanOrEqual(QUOTA);
    expect((await quota(carol.token))?.reserved).toBe(made * 20 * MiB);
  });

  it('turns the reservation into used space when the upload completes', async () => {
    const dave = await t.signUp();
    const s = await create(dave.token, 8 * MiB);
    const id = s.data?.createUpload.id ?? '';
    const res = await fetch(`${t.url}/upload/${id}/0`, { method: 'PUT', headers: { authorization: `Bearer ${dave.token}` }, body: Buffer.alloc(8 * MiB, 3) });
    expect(res.status).toBe(200);
    expect((await gql<{ completeUpload: { status: string } }>(t.url, 'mutation($id: ID!) { completeUpload(sessionId: $id) { status } }', { id }, dave.token)).data?.completeUpload.status).toBe('COMPLETED');
    expect(await quota(dave.token)).toEqual({ used: 8 * MiB, limit: QUOTA, reserved: 0 });
  });
});
