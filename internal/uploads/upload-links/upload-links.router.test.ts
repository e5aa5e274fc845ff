/**
 * The links router (nested in the uploads router as `links`) through a tRPC caller on the embedded
 * stack (SQLite, in-memory KV, local disk; no service needed): the owner's procedures, the
 * visitor's (info, unlock, resolve), and what the uploads service does with a link's sessions
 * (folder forced, clash renamed, files reserved before anything is stored and given back on
 * cancel). Only public entry points (createUploads and its router), plus the pure rules.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFiles } from '../../files/index.ts';
import { createLogger } from '../../platform/logger.ts';
import type { Viewer } from '../../platform/request-context.ts';
import { localClient } from '../../platform/rpc/client.ts';
import { createCallerFactory } from '../../platform/rpc/trpc.ts';
import { callerAs, failureOf } from '../../../test/support/embedded.ts';
import { createTestRuntime, type TestRuntime } from '../../../test/support/runtime.ts';
import { createUploads } from '../index.ts';
import { UploadSessionRow } from '../uploads.entities.ts';
import { renamed } from './upload-links.rules.ts';

const log = createLogger({ level: 'silent' });
let t: TestRuntime;
let files: ReturnType<typeof createFiles>;
let uploads: ReturnType<typeof createUploads>;

beforeAll(async () => {
  t = await createTestRuntime('embedded', { DROP_UPLOADS_PER_CLIENT_MINUTE: '3', DROP_UNLOCK_FAILURES_PER_CLIENT: '2' });
  files = createFiles(t.runtime);
  uploads = createUploads(t.runtime, localClient(files.router, log));
});
afterAll(() => t?.close());

async function person(ip?: string) {
  const viewer: Viewer = { userId: randomUUID(), username: 'u', isAdmin: false };
  await callerAs(createCallerFactory(files.router), viewer).provisionDrive();
  const up = callerAs(createCallerFactory(uploads.router), viewer, ip);
  const drive = callerAs(createCallerFactory(files.router), viewer);
  const folder = async (name: string) => (await drive.createFolder({ parentId: null, name })).id;
  return { viewer, up, links: up.links, drive, folder };
}
const visitor = (ip = `10.0.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`) => callerAs(createCallerFactory(uploads.router), undefined, ip).links;

describe('upload links router on the embedded stack', () => {
  it('creates a link (its token listed again), lists, updates and revokes it; another person gets NOT_FOUND', async () => {
    const me = await person();
    const other = await person();
    const folderId = await me.folder('inbox');
    const link = await me.links.create({ folderId, maxFiles: 2 });
    expect(link).toMatchObject({ folderId, maxFiles: 2, maxBytes: null, filesReceived: 0, hasPassword: false, revoked: false, active: true });
    expect(link.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await me.links.list()).map((l) => [l.id, l.token])).toEqual([[link.id, link.token]]);
    expect(await me.links.update({ id: link.id, password: 'pw-1234', maxBytes: 10 })).toMatchObject({ hasPassword: true, maxBytes: 10, maxFiles: 2 });
    for (const call of [other.links.get({ id: link.id }), other.links.update({ id: link.id, maxFiles: 9 }), other.links.revoke({ id: link.id }), other.links.arrivals({ id: link.id })]) {
      expect(await failureOf(call)).toMatch(/^NOT_FOUND/);
    }
    expect(await failureOf(other.links.create({ folderId }))).toMatch(/^NOT_FOUND/);
    expect(await failureOf(me.links.create({ folderId, maxFiles: 0 }))).toBe('BAD_INPUT:upload_link_limit_invalid');
    expect(await me.links.revoke({ id: link.id })).toBe(true);
    expect(await me.links.get({ id: link.id })).toMatchObject({ revoked: true, active: false });
  });

  it('info and resolve give one answer for unknown, malformed and revoked tokens; resolve names the owner, folder and link', async () => {
    const me = await person();
    const folderId = await me.folder('inbox');
    const live = await me.links.create({ folderId, maxFiles: 3 });
    const revoked = await me.links.create({ folderId });
    await me.links.revoke({ id: revoked.id });
    const v = visitor();
    expect(await v.info({ token: live.token ?? '', unlockToken: null })).toEqual({ hasPassword: false, expiresAt: null, filesLeft: 3, bytesLeft: null });
    expect(await v.resolve({ token: live.token ?? '', unlockToken: null, creating: false })).toEqual({ linkId: live.id, ownerId: me.viewer.userId, folderId });
    const dead = await Promise.all(['A'.repeat(43), 'short', revoked.token ?? ''].flatMap((token) => [
      failureOf(v.info({ token, unlockToken: null })),
      failureOf(v.resolve({ token, unlockToken: null, creating: true })),
    ]));
    expect(new Set(dead)).toEqual(new Set(['NOT_FOUND:upload_link_not_found']));
  });

  it('a password link resolves only with the drop token of unlock; wrong passwords are limited per address', async () => {
    const me = await person();
    const link = await me.links.create({ folderId: await me.folder('locked'), password: 'open-sesame' });
    const token = link.token ?? '';
    const v = visitor();
    expect(await failureOf(v.resolve({ token, unlockToken: null, creating: false }))).toBe('UNAUTHENTICATED:upload_link_password_required');
    expect(await v.info({ token, unlockToken: null })).toMatchObject({ hasPassword: true, filesLeft: null });
    expect(await failureOf(v.unlock({ token, password: 'nope' }))).toBe('UNAUTHENTICATED:upload_link_password');
    const drop = await v.unlock({ token, password: 'open-sesame' });
    expect(await v.resolve({ token, unlockToken: drop.token, creating: false })).toMatchObject({ linkId: link.id });
    expect(await failureOf(v.unlock({ token, password: 'nope-again' }))).toBe('UNAUTHENTICATED:upload_link_password');
    expect(await failureOf(v.unlock({ token, password: 'open-sesame' }))).toBe('RATE_LIMITED:upload_link_unlock_attempts');
    // Another address is not held back by this one's failures.
    expect((await visitor().unlock({ token, password: 'open-sesame' })).token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A new password ends the drop tokens handed out before.
    await me.links.update({ id: link.id, password: 'new-secret' });
    expect(await failureOf(v.resolve({ token, unlockToken: drop.token, creating: false }))).toBe('UNAUTHENTICATED:upload_link_password_required');
  });

  it('resolve counts uploads started per address', async () => {
    const me = await person();
    const link = await me.links.create({ folderId: await me.folder('busy') });
    const v = visitor();
    for (let i = 0; i < 3; i++) await v.resolve({ token: link.token ?? '', unlockToken: null, creating: true });
    expect(await failureOf(v.resolve({ token: link.token ?? '', unlockToken: null, creating: true }))).toBe('RATE_LIMITED:upload_link_creations');
    expect(await v.resolve({ token: link.token ?? '', unlockToken: null, creating: false })).toMatchObject({ linkId: link.id });
  });

  it("sessions through a link go to its folder under a free name, reserve against maxFiles before anything is stored, and give it back on cancel", async () => {
    const me = await person();
    const folderId = await me.folder('drop');
    const link = await me.links.create({ folderId, maxFiles: 2, maxBytes: 100 });
    await me.drive.createFolder({ parentId: folderId, name: 'photo.jpg' });
    const first = await me.up.create({ parentId: null, name: 'photo.jpg', size: 10, uploadLinkId: link.id });
    expect(first).toMatchObject({ parentId: folderId, name: 'photo (1).jpg' });
    expect(await failureOf(me.up.create({ parentId: folderId, name: 'big.bin', size: 91, uploadLinkId: link.id }))).toBe('PAYLOAD_TOO_LARGE:upload_link_bytes_limit');
    await me.up.create({ parentId: folderId, name: 'b.bin', size: 10, uploadLinkId: link.id });
    expect(await failureOf(me.up.create({ parentId: folderId, name: 'c.bin', size: 1, uploadLinkId: link.id }))).toBe('PAYLOAD_TOO_LARGE:upload_link_files_limit');
    expect(await me.up.cancel({ id: first.id })).toBe(true);
    expect(await me.up.create({ parentId: folderId, name: 'c.bin', size: 1, uploadLinkId: link.id })).toMatchObject({ name: 'c.bin' });
    // Another person's link id is no way into anyone's folder.
    const other = await person();
    expect(await failureOf(other.up.create({ parentId: null, name: 'x.bin', size: 1, uploadLinkId: link.id }))).toBe('NOT_FOUND:upload_link_not_found');
    // A link whose folder went to the trash is dead.
    await me.drive.trash({ id: folderId });
    expect(await failureOf(visitor().info({ token: link.token ?? '', unlockToken: null }))).toBe('NOT_FOUND:upload_link_not_found');
  });

  it('gives the reservation back whatever ends a session unfinished: a completion whose bytes are gone (FAILED) too', async () => {
    const me = await person();
    const folderId = await me.folder('drop-failed');
    const link = await me.links.create({ folderId, maxFiles: 1 });
    const session = await me.up.create({ parentId: folderId, name: 'lost.bin', size: 10, uploadLinkId: link.id });
    expect(await failureOf(me.up.create({ parentId: folderId, name: 'next.bin', size: 1, uploadLinkId: link.id }))).toBe('PAYLOAD_TOO_LARGE:upload_link_files_limit');
    // A completion that died with its process after its bytes went: recovery finds nothing to complete.
    await t.runtime.orm.em.fork().nativeUpdate(UploadSessionRow, { id: session.id }, { status: 'COMPLETING', multipartId: '' });
    expect(await me.up.get({ id: session.id })).toMatchObject({ status: 'FAILED' });
    expect(await me.up.create({ parentId: folderId, name: 'next.bin', size: 1, uploadLinkId: link.id })).toMatchObject({ name: 'next.bin' });
  });
});

describe('renamed (pure)', () => {
  it('puts the counter before the extension, keeps dot-files whole and stays within 255 characters', () => {
    expect(renamed('report.pdf', 1)).toBe('report (1).pdf');
    expect(renamed('archive.tar.gz', 2)).toBe('archive.tar (2).gz');
    expect(renamed('.env', 1)).toBe('.env (1)');
    expect(renamed('README', 12)).toBe('README (12)');
    const long = `${'x'.repeat(260)}.txt`;
    expect(renamed(long, 3)).toHaveLength(255);
    expect(renamed(long, 3).endsWith(' (3).txt')).toBe(true);
  });
});
