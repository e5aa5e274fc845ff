/**
 * uploads.tus.recordPart (the PATCH writer's one call per part) on the embedded stack: it records
 * only for the holder of the upload's tus lock, checks the part as the chunk API's record does,
 * and the offset follows; another person's upload stays NOT_FOUND.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { failureOf } from '../../../test/support/embedded.ts';
import { embeddedUploads } from '../../../test/support/embedded-uploads.ts';
import { TERMINATE_LOCK_WAIT_MS } from './tus.service.ts';

const MiB = 1024 * 1024;
const { stack, person: newPerson } = embeddedUploads();
const person = async () => (await newPerson()).up;

describe('uploads.tus.recordPart', () => {
  it('records a part for the lock holder only, checked like a chunk receipt; the offset follows', async () => {
    const up = await person();
    const bytes = Buffer.alloc(8 * MiB, 7);
    const created = await up.tus.create({ parentId: null, name: 'p.bin', size: 8 * MiB + 5, mimeType: null, uploadLinkId: null, metadata: '' });
    expect(created.status).toBe('PENDING');
    const { lockToken, ...state } = await up.tus.lock({ id: created.id, uploadLinkId: null });
    // The PATCH is about to send parts: the session moved to UPLOADING once, at the lock.
    expect(state.status).toBe('UPLOADING');
    const part = await stack.t.runtime.storage.store(state.backend).uploadPart(state.storageKey, state.multipartId, 1, Readable.from([bytes]), bytes.length);
    const digests = [0, 1].map((b) => createHash('sha256').update(bytes.subarray(b * 4 * MiB, (b + 1) * 4 * MiB)).digest('hex'));
    const receipt = { id: created.id, lockToken, multipartId: state.multipartId, index: 0, etag: part.etag, size: bytes.length, digests };

    expect(await failureOf(up.tus.recordPart({ ...receipt, lockToken: randomUUID() }))).toBe('CONFLICT:upload_locked');
    expect(await failureOf(up.tus.recordPart({ ...receipt, size: 4 * MiB, digests: digests.slice(0, 1) }))).toBe('BAD_INPUT:chunk_length');
    expect(await failureOf(up.tus.recordPart({ ...receipt, digests: digests.slice(0, 1) }))).toBe('BAD_INPUT:chunk_length');
    expect(await failureOf(up.tus.recordPart({ ...receipt, multipartId: 'other' }))).toBe('CONFLICT:session_changed');
    expect(await failureOf((await person()).tus.recordPart(receipt))).toBe('NOT_FOUND');
    expect((await up.tus.get({ id: created.id, uploadLinkId: null })).offset).toBe(0);

    await up.tus.recordPart(receipt);
    expect((await up.tus.get({ id: created.id, uploadLinkId: null })).offset).toBe(8 * MiB);

    // Unlocked (by token, no read): the old token records nothing any more.
    await up.tus.unlock({ id: created.id, lockToken });
    expect(await failureOf(up.tus.recordPart(receipt))).toBe('CONFLICT:upload_locked');
    const again = await up.tus.lock({ id: created.id, uploadLinkId: null });
    expect(again.offset).toBe(8 * MiB);
    expect(again.nextIndex).toBe(1);
    await up.tus.unlock({ id: created.id, lockToken: again.lockToken });
  });

  it('refuses a part once the upload is no longer UPLOADING (paused meanwhile) or is gone (cancelled)', async () => {
    const up = await person();
    const created = await up.tus.create({ parentId: null, name: 'c.bin', size: 8 * MiB + 5, mimeType: null, uploadLinkId: null, metadata: '' });
    const { lockToken, multipartId } = await up.tus.lock({ id: created.id, uploadLinkId: null });
    await up.pause({ id: created.id });
    const receipt = { id: created.id, lockToken, multipartId, index: 0, etag: 'e', size: 8 * MiB, digests: ['0'.repeat(64), '0'.repeat(64)] };
    expect(await failureOf(up.tus.recordPart(receipt))).toBe('CONFLICT:session_paused');
    await up.cancel({ id: created.id });
    expect(await failureOf(up.tus.recordPart(receipt))).toBe('NOT_FOUND');
  });

  it('a termination waits for a PATCH that still holds the lock (its client cut away), and refuses one that holds it too long', async () => {
    const up = await person();
    const created = await up.tus.create({ parentId: null, name: 't.bin', size: 8 * MiB + 5, mimeType: null, uploadLinkId: null, metadata: '' });
    const { lockToken } = await up.tus.lock({ id: created.id, uploadLinkId: null });
    // The interrupted PATCH finishes storing what it received 300 ms later and unlocks.
    const started = Date.now();
    setTimeout(() => void up.tus.unlock({ id: created.id, lockToken }), 300);
    await up.tus.terminate({ id: created.id, uploadLinkId: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await failureOf(up.tus.get({ id: created.id, uploadLinkId: null }))).toBe('NOT_FOUND');

    // A PATCH that keeps the lock past the wait keeps the upload: 423 (CONFLICT upload_locked).
    const other = await up.tus.create({ parentId: null, name: 'u.bin', size: 8 * MiB + 5, mimeType: null, uploadLinkId: null, metadata: '' });
    await up.tus.lock({ id: other.id, uploadLinkId: null });
    const before = Date.now();
    expect(await failureOf(up.tus.terminate({ id: other.id, uploadLinkId: null }))).toBe('CONFLICT:upload_locked');
    expect(Date.now() - before).toBeGreaterThanOrEqual(TERMINATE_LOCK_WAIT_MS - 100);
    expect((await up.tus.get({ id: other.id, uploadLinkId: null })).status).toBe('UPLOADING');
  }, 20_000);
});
