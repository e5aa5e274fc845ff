/**
 * Signed download links through the files router's tRPC caller on the embedded stack (no service
 * needed): the owner signs a link for a live file; anyone holding it opens that file only; a link
 * altered, moved to another file, or of a trashed file opens nothing; a version's link opens that
 * version only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Viewer } from '../platform/request-context.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { callerAs, failureOf, newViewer, storedBlob } from '../../test/support/embedded.ts';
import { createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { paddingTwin } from '../../test/support/signatures.ts';
import { createFiles } from './index.ts';

let t: TestRuntime;
let files: ReturnType<typeof createFiles>;
const as = (viewer: Viewer | undefined) => callerAs(createCallerFactory(files.router), viewer);

beforeAll(async () => {
  t = await createTestRuntime('embedded');
  files = createFiles(t.runtime);
});
afterAll(() => t?.close());

describe('download links router on the embedded stack', () => {
  it('signs a link for the owner that opens the file for anyone, for five minutes', async () => {
    const me = as(newViewer());
    await me.provisionDrive();
    const file = (await me.commitFile({ parentId: null, name: 'a.txt', mimeType: null, ...(await storedBlob(t.runtime, 'alpha')) })).file;
    const before = Date.now();
    const link = await me.downloadLinks.create({ id: file.id });
    // Whole seconds: five minutes from the call, rounded down.
    expect(new Date(link.expiresAt).getTime()).toBeGreaterThan(before + 299_000);
    expect(new Date(link.expiresAt).getTime()).toBeLessThanOrEqual(Date.now() + 300_000);
    const opened = await as(undefined).downloadLinks.content({ id: file.id, sig: link.sig });
    expect(opened.file).toMatchObject({ id: file.id, name: 'a.txt', size: 5 });
    expect(opened.blob).toMatchObject({ backend: t.runtime.storage.defaultBackend().name });
  });

  it('opens nothing with an altered or moved signature, for a trashed file, or for a stranger signing', async () => {
    const owner = newViewer();
    const me = as(owner);
    await me.provisionDrive();
    const a = (await me.commitFile({ parentId: null, name: 'a.txt', mimeType: null, ...(await storedBlob(t.runtime, 'alpha')) })).file;
    const b = (await me.commitFile({ parentId: null, name: 'b.txt', mimeType: null, ...(await storedBlob(t.runtime, 'bravo')) })).file;
    const { sig } = await me.downloadLinks.create({ id: a.id });
    const anyone = as(undefined);
    // One character of the MAC changed (its first: every bit of it counts).
    const macAt = sig.lastIndexOf('.') + 1;
    const altered = `${sig.slice(0, macAt)}${sig[macAt] === 'A' ? 'B' : 'A'}${sig.slice(macAt + 1)}`;
    expect(await failureOf(anyone.downloadLinks.content({ id: a.id, sig: altered }))).toBe('NOT_FOUND:download_link_invalid');
    // The last character's unused low bits changed: the same bytes once decoded, still refused
    // (only the signer's own spelling opens a link; this failed one run in four before).
    const twin = paddingTwin(sig);
    expect(Buffer.from(twin.slice(macAt), 'base64url')).toEqual(Buffer.from(sig.slice(macAt), 'base64url'));
    expect(await failureOf(anyone.downloadLinks.content({ id: a.id, sig: twin }))).toBe('NOT_FOUND:download_link_invalid');
    expect(await failureOf(anyone.downloadLinks.content({ id: b.id, sig }))).toBe('NOT_FOUND:download_link_invalid');
    expect(await failureOf(anyone.downloadLinks.content({ id: a.id, sig: 'not-a-signature' }))).toBe('NOT_FOUND:download_link_invalid');
    expect(await failureOf(as(newViewer()).downloadLinks.create({ id: a.id }))).toBe('NOT_FOUND');
    expect(await failureOf(anyone.downloadLinks.create({ id: a.id }))).toBe('UNAUTHENTICATED');
    await me.trash({ id: a.id });
    expect(await failureOf(anyone.downloadLinks.content({ id: a.id, sig }))).toBe('NOT_FOUND');
  });

  it("signs a version's link that opens that version only, never the current content or another version", async () => {
    const owner = newViewer();
    const me = as(owner);
    await me.provisionDrive();
    const first = (await me.commitFile({ parentId: null, name: 'v.txt', mimeType: null, ...(await storedBlob(t.runtime, 'one')) })).file;
    await me.commitFile({ parentId: null, name: 'v.txt', mimeType: null, newVersion: true, ...(await storedBlob(t.runtime, 'two!')) });
    await me.commitFile({ parentId: null, name: 'v.txt', mimeType: null, newVersion: true, ...(await storedBlob(t.runtime, 'three')) });
    const [versions = []] = await me.versions.listMany({ fileIds: [first.id] });
    const [newer, older] = versions;
    if (!newer || !older) throw new Error('expected two versions');
    const { sig } = await me.downloadLinks.create({ id: first.id, versionId: older.id });
    const anyone = as(undefined);
    const opened = await anyone.downloadLinks.versionContent({ id: first.id, versionId: older.id, sig });
    expect(opened.version).toMatchObject({ id: older.id, size: 3 });
    expect(opened.file).toMatchObject({ id: first.id, size: 5 });
    // Not the other version, not the current content; and a file's link opens no version.
    expect(await failureOf(anyone.downloadLinks.versionContent({ id: first.id, versionId: newer.id, sig }))).toBe('NOT_FOUND:download_link_invalid');
    expect(await failureOf(anyone.downloadLinks.content({ id: first.id, sig }))).toBe('NOT_FOUND:download_link_invalid');
    const fileLink = await me.downloadLinks.create({ id: first.id });
    expect(await failureOf(anyone.downloadLinks.versionContent({ id: first.id, versionId: older.id, sig: fileLink.sig }))).toBe('NOT_FOUND:download_link_invalid');
    // Only the owner signs, and only a version of that file.
    expect(await failureOf(as(newViewer()).downloadLinks.create({ id: first.id, versionId: older.id }))).toBe('NOT_FOUND');
    const other = (await me.commitFile({ parentId: null, name: 'w.txt', mimeType: null, ...(await storedBlob(t.runtime, 'w')) })).file;
    expect(await failureOf(me.downloadLinks.create({ id: other.id, versionId: older.id }))).toMatch(/^NOT_FOUND/);
    // A deleted version's link opens nothing.
    await me.versions.delete({ fileId: first.id, versionId: older.id });
    expect(await failureOf(anyone.downloadLinks.versionContent({ id: first.id, versionId: older.id, sig }))).toMatch(/^NOT_FOUND/);
  });
});
