/**
 * File-drop links, the guarded parts, against the real stack: password links (the drop page's
 * info hides the limits until unlocked; unlockUploadLink's drop token opens /drop/{token}/tus/ as
 * Bearer, for the real tus-js-client too; a changed password ends it), unlock attempts limited per
 * client address, uploads started through links limited per address (429 with Retry-After), and
 * the owner's live `uploadLinkActivity` subscription. Its own app, with small per-address limits.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../support/app.ts';
import { gql } from '../support/graphql.ts';
import { runUpload } from '../tus/tus-js-client.harness.ts';
import { OCTETS, TUS, contentHashOf, metadata, random, tusRequest } from '../tus/tus-protocol-harness.ts';

const UPLOADS_PER_MINUTE = 8;
/**
 * This file's own client address (through a trusted proxy's X-Forwarded-For): the per-address
 * counters live in the shared Redis, so other test files and earlier runs must not spend them.
 */
const ADDRESS = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1`;
const FROM = { 'x-forwarded-for': ADDRESS };
const UNLOCK_FAILURES = 3;
let t: TestApp;
let db: Connection;
let owner: { token: string; userId: string };
let stranger: { token: string; userId: string };
const sockets: Client[] = [];

async function must<T>(pending: ReturnType<typeof gql<T>>): Promise<T> {
  const res = await pending;
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data;
}
async function linkInto(name: string, input: Record<string, unknown> = {}): Promise<{ id: string; token: string; folderId: string }> {
  const folderId = (await must(gql<{ createFolder: { id: string } }>(t.url, 'mutation($n: String!) { createFolder(name: $n) { id } }', { n: name }, owner.token))).createFolder.id;
  const link = await must(gql<{ createUploadLink: { id: string; token: string } }>(t.url, 'mutation($i: CreateUploadLinkInput!) { createUploadLink(input: $i) { id token } }', { i: { folderId, ...input } }, owner.token));
  return { ...link.createUploadLink, folderId };
}
const dropUrl = (token: string) => `${t.url}/drop/${token}/tus/`;
const post = (token: string, size: number, name: string, headers: Record<string, string> = {}) =>
  tusRequest(dropUrl(token), 'POST', { ...TUS, ...FROM, 'upload-length': String(size), 'upload-metadata': metadata({ filename: name }), ...headers });
/** GraphQL from this file's address (what gql does, plus X-Forwarded-For). */
async function gqlFrom<T>(query: string, variables: Record<string, unknown>): ReturnType<typeof gql<T>> {
  const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...FROM }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, ...((await res.json()) as object) };
}
const info = (token: string, unlockToken?: string) =>
  gql<{ uploadLinkInfo: { hasPassword: boolean; filesLeft: number | null; bytesLeft: number | null } }>(t.url, 'query($t: String!, $u: String) { uploadLinkInfo(token: $t, unlockToken: $u) { hasPassword filesLeft bytesLeft } }', { t: token, u: unlockToken ?? null });
const unlock = (token: string, password: string) =>
  gqlFrom<{ unlockUploadLink: { token: string; expiresAt: string } }>('mutation($t: String!, $p: String!) { unlockUploadLink(token: $t, password: $p) { token expiresAt } }', { t: token, p: password });
const reasonOf = (res: Awaited<ReturnType<typeof gql>>) => {
  const extensions = res.errors?.[0]?.extensions;
  return extensions ? { code: extensions.code, reason: extensions.details?.reason } : undefined;
};
const filesIn = async (folderId: string) =>
  (await db.query('select name, size, content_hash from files where parent_id = ? and trash_key = ?', [folderId, '']))[0] as { name: string; size: number; content_hash: string }[];

beforeAll(async () => {
  t = await startTestApp({ env: { TRUSTED_PROXIES: '127.0.0.1,::1', DROP_UPLOADS_PER_CLIENT_MINUTE: String(UPLOADS_PER_MINUTE), DROP_UNLOCK_FAILURES_PER_CLIENT: String(UNLOCK_FAILURES) } });
  owner = await t.signUp();
  stranger = await t.signUp();
  db = await createConnection(t.db.url ?? '');
});

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.dispose()));
  await db?.end();
  await t?.close();
});

describe('password links', () => {
  it('need the drop token of unlockUploadLink; tus-js-client uploads with it as Bearer; a changed password ends it', async () => {
    const link = await linkInto('locked-inbox', { password: 'open-sesame', maxFiles: 4 });
    expect((await info(link.token)).data?.uploadLinkInfo).toEqual({ hasPassword: true, filesLeft: null, bytesLeft: null });
    const refused = await post(link.token, 10, 'x.bin');
    expect(refused.status).toBe(401);
    expect(refused.text).toMatch(/^upload_link_password_required: /);
    expect(reasonOf(await unlock(link.token, 'wrong-password'))).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'upload_link_password' });
    const opened = (await must(unlock(link.token, 'open-sesame'))).unlockUploadLink;
    expect(opened.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Date(opened.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect((await info(link.token, opened.token)).data?.uploadLinkInfo).toEqual({ hasPassword: true, filesLeft: 4, bytesLeft: null });

    const bytes = random(6 * 1024 * 1024 + 5);
    const file = path.join(t.dataDir, 'drop-client.bin');
    writeFileSync(file, bytes);
    const outcome = await runUpload({ endpoint: dropUrl(link.token), token: opened.token, headers: FROM, file, size: bytes.length, chunkSize: 4 * 1024 * 1024, metadata: { filename: 'via-client.bin' } });
    expect(outcome.kind, JSON.stringify(outcome.sent.answers)).toBe('success');
    expect(outcome.sent.url.startsWith(dropUrl(link.token))).toBe(true);
    expect(await filesIn(link.folderId)).toEqual([expect.objectContaining({ name: 'via-client.bin', content_hash: contentHashOf(bytes) })]);
    // The same token through X-Drop-Unlock, for clients that keep Authorization for themselves.
    expect((await post(link.token, 10, 'y.bin', { 'x-drop-unlock': opened.token })).status).toBe(201);

    await must(gql(t.url, 'mutation($id: ID!) { updateUploadLink(id: $id, input: { password: "another-one" }) { id } }', { id: link.id }, owner.token));
    const after = await post(link.token, 10, 'z.bin', { authorization: `Bearer ${opened.token}` });
    expect(after.status).toBe(401);
  });

  it('wrong passwords and dead links are limited per client address: past the limit even the right password waits', async () => {
    const link = await linkInto('guarded-inbox', { password: 'right-password' });
    // One failure was spent by the test before; two more reach the limit (a dead link counts too).
    expect(reasonOf(await unlock(link.token, 'guess-1'))?.reason).toBe('upload_link_password');
    expect(reasonOf(await unlock('B'.repeat(43), 'guess-2'))).toMatchObject({ code: 'NOT_FOUND', reason: 'upload_link_not_found' });
    const limited = await unlock(link.token, 'right-password');
    expect(reasonOf(limited)).toMatchObject({ code: 'RATE_LIMITED', reason: 'upload_link_unlock_attempts' });
    expect(JSON.stringify(limited.errors?.[0]?.extensions)).toMatch(/"retryAfter":[1-9]/);
  });
});

describe('the owner sees arrivals live', () => {
  function socket(token: string): Client {
    const client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
    sockets.push(client);
    return client;
  }

  it('uploadLinkActivity yields each arrival through the link; another person cannot subscribe to it', async () => {
    const link = await linkInto('live-inbox');
    const ws = socket(owner.token);
    const arrivals: { linkId: string; name: string; size: number; fileId: string }[] = [];
    const first = new Promise<void>((resolve, reject) => {
      ws.subscribe<{ uploadLinkActivity: (typeof arrivals)[number] }>({ query: 'subscription($l: ID) { uploadLinkActivity(linkId: $l) { linkId fileId name size receivedAt } }', variables: { l: link.id } }, {
        next: (value) => {
          if (value.data) arrivals.push(value.data.uploadLinkActivity);
          resolve();
        },
        error: reject,
        complete: () => undefined,
      });
    });
    // The subscription is registered once the server has the socket's subscribe; give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const bytes = random(777);
    const created = await post(link.token, bytes.length, 'hello.txt');
    const done = await tusRequest(new URL(created.headers.get('location') ?? '', dropUrl(link.token)).toString(), 'PATCH', { ...TUS, ...OCTETS, 'upload-offset': '0' }, bytes);
    expect(done.status).toBe(204);
    await first;
    expect(arrivals[0]).toMatchObject({ linkId: link.id, name: 'hello.txt', size: 777 });
    expect((await filesIn(link.folderId))[0]?.name).toBe('hello.txt');

    const strangers = await new Promise<unknown>((resolve) => {
      socket(stranger.token).subscribe({ query: 'subscription($l: ID) { uploadLinkActivity(linkId: $l) { name } }', variables: { l: link.id } }, {
        next: (value) => resolve(value),
        error: (error) => resolve(error),
        complete: () => undefined,
      });
    });
    expect(JSON.stringify(strangers)).toContain('NOT_FOUND');
  });
});

describe('per-address limit on uploads started through links', () => {
  it(`past ${UPLOADS_PER_MINUTE} POSTs a minute from one address: 429 with Retry-After, nothing created`, async () => {
    const link = await linkInto('busy-inbox');
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i <= UPLOADS_PER_MINUTE && !refused; i++) {
      const res = await post(link.token, 10, `n${i}.bin`);
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    expect(refused, statuses.join(',')).toBeDefined();
    expect(refused?.text).toMatch(/^upload_link_creations: /);
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 201).length).toBeLessThan(UPLOADS_PER_MINUTE);
    const [row] = (await db.query('select files_reserved from upload_links where id = ?', [link.id]))[0] as { files_reserved: number }[];
    expect(row?.files_reserved).toBe(statuses.filter((s) => s === 201).length);
  });
});
