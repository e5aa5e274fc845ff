/**
 * Personal access tokens end to end (issue 19, item 1), on the real stack: made from a session,
 * used as `Authorization: Bearer` on GraphQL (HTTP and graphql-ws), the byte endpoints (chunk PUT,
 * downloads) and the CLI (STRATUS_TOKEN); READ tokens refused on every write; managing tokens and
 * the password needs a session; a revoke refuses the token on the very next request, on this
 * process and on a second server process sharing the database and Redis, and closes its sockets;
 * an expired token is refused; the secret is never listed; lastUsedAt is written at most once a
 * minute.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../support/app.ts';
import { until } from '../support/chunks.ts';
import { tempDir } from '../support/db.ts';
import { redisEnv } from '../support/env.ts';
import { errorCode, gql, type GraphQLResponse } from '../support/graphql.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { makeHome, run } from './cli-harness.ts';

let t: TestApp;
let second: ServerProcess;
let owner: { token: string; userId: string; refreshToken: string };

interface Made {
  token: string;
  accessToken: { id: string; name: string; scopes: string[]; createdAt: string; lastUsedAt: string | null; expiresAt: string | null };
}
const CREATE = 'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token accessToken { id name scopes createdAt lastUsedAt expiresAt } } }';
const LIST = '{ accessTokens { id name scopes createdAt lastUsedAt expiresAt } }';
const REVOKE = 'mutation($id: ID!) { revokeAccessToken(id: $id) }';

async function create(input: Record<string, unknown>, as = owner.token): Promise<Made> {
  const res = await gql<{ createAccessToken: Made }>(t.url, CREATE, { i: input }, as);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createAccessToken;
}

const reason = (r: GraphQLResponse) => (r.errors?.[0]?.extensions as { details?: { reason?: string } } | undefined)?.details?.reason;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function upload(url: string, token: string, name: string, bytes: Buffer): Promise<{ status: number; fileId?: string; errors?: GraphQLResponse['errors'] }> {
  const made = await gql<{ createUpload: { id: string } }>(url, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }', { i: { name, size: bytes.length } }, token);
  if (!made.data) return { status: made.status, errors: made.errors };
  const put = await fetch(`${url}/upload/${made.data.createUpload.id}/0`, { method: 'PUT', headers: bearer(token), body: bytes });
  if (put.status !== 200) return { status: put.status };
  const done = await gql<{ completeUpload: { status: string; file: { id: string } } }>(url, 'mutation($s: ID!) { completeUpload(sessionId: $s) { status file { id } } }', { s: made.data.createUpload.id }, token);
  return { status: done.status, fileId: done.data?.completeUpload.file.id, errors: done.errors };
}

function wsClient(url: string, token: string, closes: number[]): Client {
  return createClient({
    url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false,
    connectionParams: { authorization: `Bearer ${token}` },
    // The 4403 close this suite waits for is expected: not an error to print.
    onNonLazyError: () => undefined,
    on: { closed: (event) => closes.push((event as { code: number }).code) },
  });
}

function wsQuery(client: Client, query: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    client.subscribe({ query }, { next: resolve, error: reject, complete: () => undefined });
  });
}

beforeAll(async () => {
  t = await startTestApp();
  second = await startServerProcess({
    DATABASE_URL: t.db.url ?? '', ...redisEnv(), STORAGE_CONFIG: t.storageConfigPath, JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: tempDir('stratus-pat-b-'),
  });
  owner = await t.signUp();
}, 120_000);
afterAll(async () => {
  await second?.stop();
  await t?.close();
});

describe('personal access tokens', () => {
  it('are made from a session, shown once, listed without the secret', async () => {
    const made = await create({ name: '  laptop rclone ', scopes: ['WRITE'] });
    expect(made.token).toMatch(/^stp_[A-Za-z0-9_-]{43}$/);
    expect(made.accessToken).toMatchObject({ name: 'laptop rclone', scopes: ['READ', 'WRITE'], lastUsedAt: null, expiresAt: null });
    const listed = await gql<{ accessTokens: Made['accessToken'][] }>(t.url, LIST, {}, owner.token);
    expect(listed.data?.accessTokens.find((a) => a.id === made.accessToken.id)).toEqual(made.accessToken);
    expect(JSON.stringify(listed)).not.toContain(made.token.slice(4));
    // Not in the database either: only its SHA-256.
    const rows = await t.app.runtime.orm.em.fork().getConnection().execute<{ token_hash: string }[]>('select * from access_tokens where id = ?', [made.accessToken.id]);
    expect(JSON.stringify(rows)).not.toContain(made.token.slice(4));
  });

  it('work as Bearer on GraphQL, graphql-ws, chunk PUT and downloads', async () => {
    const { token } = await create({ name: 'everywhere', scopes: ['WRITE'] });
    const me = await gql<{ me: { id: string } }>(t.url, '{ me { id } }', {}, token);
    expect(me.data?.me.id).toBe(owner.userId);
    const bytes = randomBytes(1000);
    const up = await upload(t.url, token, `pat-${randomBytes(3).toString('hex')}.bin`, bytes);
    expect(up.fileId, JSON.stringify(up)).toBeDefined();
    const got = await fetch(`${t.url}/files/${up.fileId}/content`, { headers: bearer(token) });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
    const closes: number[] = [];
    const client = wsClient(t.url, token, closes);
    try {
      expect(await wsQuery(client, '{ me { id } }')).toMatchObject({ data: { me: { id: owner.userId } } });
    } finally {
      await client.dispose();
    }
  });

  it('READ tokens read but cannot write: every mutation but logout, chunk PUT, uploadFile are FORBIDDEN token_scope', async () => {
    const write = await create({ name: 'writer', scopes: ['WRITE'] });
    const session = await gql<{ createUpload: { id: string } }>(t.url, 'mutation { createUpload(input: { name: "r.bin", size: 10 }) { id } }', {}, write.token);
    const { token } = await create({ name: 'reader', scopes: ['READ'] });
    expect((await gql(t.url, '{ folder { id } me { id } }', {}, token)).errors).toBeUndefined();
    const folder = await gql(t.url, 'mutation { createFolder(name: "nope") { id } }', {}, token);
    expect([errorCode(folder), reason(folder), folder.data ?? null]).toEqual(['FORBIDDEN', 'token_scope', null]);
    const put = await fetch(`${t.url}/upload/${session.data!.createUpload.id}/0`, { method: 'PUT', headers: bearer(token), body: Buffer.alloc(10) });
    expect(put.status).toBe(403);
    expect(await put.json()).toMatchObject({ error: { code: 'FORBIDDEN', details: { reason: 'token_scope' } } });
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: 'mutation($f: Upload!) { uploadFile(file: $f) { id } }', variables: { f: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.f'] }));
    form.append('0', new Blob([Buffer.from('x')]), 'x.txt');
    const multipart = (await (await fetch(`${t.url}/graphql`, { method: 'POST', headers: { ...bearer(token), 'apollo-require-preflight': 'true' }, body: form })).json()) as GraphQLResponse;
    expect([errorCode(multipart), reason(multipart)]).toEqual(['FORBIDDEN', 'token_scope']);
    // Signing out is not a write: logout answers as it does for anyone (that refresh token is unknown).
    const logout = await gql(t.url, 'mutation { logout(refreshToken: "unknown-refresh-token") }', {}, token);
    expect(errorCode(logout)).not.toBe('FORBIDDEN');
    // Downloads work.
    const file = await upload(t.url, write.token, `r-${randomBytes(3).toString('hex')}.txt`, Buffer.from('readable'));
    expect((await fetch(`${t.url}/files/${file.fileId}/content`, { headers: bearer(token) })).status).toBe(200);
  });

  it('cannot make, list or revoke tokens or change the password: a session only (session_required)', async () => {
    const { token, accessToken } = await create({ name: 'script', scopes: ['WRITE'] });
    const calls = [
      gql(t.url, CREATE, { i: { name: 'child', scopes: ['READ'] } }, token),
      gql(t.url, LIST, {}, token),
      gql(t.url, REVOKE, { id: accessToken.id }, token),
      gql(t.url, 'mutation { changePassword(oldPassword: "a-good-password-1", newPassword: "another-good-pass-2") }', {}, token),
    ];
    for (const res of await Promise.all(calls)) expect([errorCode(res), reason(res)], JSON.stringify(res.errors)).toEqual(['FORBIDDEN', 'session_required']);
    // The password is unchanged: the session still signs in with it.
    const login = await gql(t.url, 'mutation($u: String!) { login(username: $u, password: "a-good-password-1") { accessToken } }', { u: (await gql<{ me: { username: string } }>(t.url, '{ me { username } }', {}, owner.token)).data!.me.username });
    expect(login.errors).toBeUndefined();
  });

  it('a revoke is refused at once on every path, on a second server process too, and closes its sockets', async () => {
    const { token, accessToken } = await create({ name: 'to revoke', scopes: ['WRITE'] });
    const file = await upload(t.url, token, `v-${randomBytes(3).toString('hex')}.txt`, Buffer.from('bytes'));
    expect((await gql(second.url, '{ me { id } }', {}, token)).data).toEqual({ me: { id: owner.userId } });
    const closes: number[] = [];
    const onSecond: number[] = [];
    const client = wsClient(t.url, token, closes);
    const clientB = wsClient(second.url, token, onSecond);
    try {
      expect(await wsQuery(client, '{ me { id } }')).toMatchObject({ data: { me: { id: owner.userId } } });
      expect(await wsQuery(clientB, '{ me { id } }')).toMatchObject({ data: { me: { id: owner.userId } } });
      expect((await gql(t.url, REVOKE, { id: accessToken.id }, owner.token)).data).toEqual({ revokeAccessToken: true });
      for (const url of [t.url, second.url]) {
        const res = await gql(url, '{ me { id } }', {}, token);
        expect([res.status, errorCode(res)]).toEqual([401, 'UNAUTHENTICATED']);
        expect((await fetch(`${url}/files/${file.fileId}/content`, { headers: bearer(token) })).status).toBe(401);
      }
      await until(async () => closes.includes(4403) && onSecond.includes(4403), 'the sockets signed in with the token to close with 4403');
    } finally {
      await Promise.all([client.dispose(), clientB.dispose()]);
    }
    // Gone from the list; revoking again (or another person's id) is NOT_FOUND.
    const listed = await gql<{ accessTokens: { id: string }[] }>(t.url, LIST, {}, owner.token);
    expect(listed.data?.accessTokens.map((a) => a.id)).not.toContain(accessToken.id);
    expect(errorCode(await gql(t.url, REVOKE, { id: accessToken.id }, owner.token))).toBe('NOT_FOUND');
  });

  it('an expired token is refused (reason expired)', async () => {
    const { token } = await create({ name: 'short', scopes: ['READ'], expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await gql(t.url, '{ me { id } }', {}, token)).errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const res = await gql(t.url, '{ me { id } }', {}, token);
    expect([res.status, errorCode(res)]).toEqual([401, 'UNAUTHENTICATED']);
    const bytes = await fetch(`${t.url}/files/${owner.userId}/content`, { headers: bearer(token) });
    expect(bytes.status).toBe(401);
    expect(await bytes.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED', details: { reason: 'expired' } } });
  });

  it('bounds: name, scopes, expiry in the future and within a year, 50 live tokens per person, another person\'s id', async () => {
    const bad = async (input: Record<string, unknown>) => {
      const res = await gql(t.url, CREATE, { i: input }, owner.token);
      return [errorCode(res), reason(res)];
    };
    expect(await bad({ name: '   ', scopes: ['READ'] })).toEqual(['BAD_INPUT', 'name_empty']);
    expect(await bad({ name: 'x'.repeat(101), scopes: ['READ'] })).toEqual(['BAD_INPUT', 'name_too_long']);
    expect(await bad({ name: 'tab\there', scopes: ['READ'] })).toEqual(['BAD_INPUT', 'name_invalid_character']);
    expect(await bad({ name: 'none', scopes: [] })).toEqual(['BAD_INPUT', 'scopes_empty']);
    expect(await bad({ name: 'past', scopes: ['READ'], expiresAt: new Date(Date.now() - 1000).toISOString() })).toEqual(['BAD_INPUT', 'expiry_in_past']);
    expect(await bad({ name: 'far', scopes: ['READ'], expiresAt: new Date(Date.now() + 400 * 86_400_000).toISOString() })).toEqual(['BAD_INPUT', 'expiry_too_far']);
    const other = await t.signUp();
    const theirs = await create({ name: 'theirs', scopes: ['READ'] }, other.token);
    const foreign = await gql(t.url, REVOKE, { id: theirs.accessToken.id }, owner.token);
    expect(errorCode(foreign)).toBe('NOT_FOUND');
    expect((await gql(t.url, '{ me { id } }', {}, theirs.token)).data).toEqual({ me: { id: other.userId } });
    // 50 live tokens at most ('theirs' is one).
    for (let i = 1; i < 50; i++) await create({ name: `n${i}`, scopes: ['READ'] }, other.token);
    const over = await gql(t.url, CREATE, { i: { name: 'one too many', scopes: ['READ'] } }, other.token);
    expect([errorCode(over), reason(over)]).toEqual(['RATE_LIMITED', 'too_many_access_tokens']);
  });

  it('records the last use at most once a minute (no write per request)', async () => {
    const { token, accessToken } = await create({ name: 'counted', scopes: ['READ'] });
    const before = t.queries.length;
    for (let i = 0; i < 5; i++) expect((await gql(t.url, '{ me { id } }', {}, token)).errors).toBeUndefined();
    const writes = t.queries.slice(before).filter((sql) => /update\s+`access_tokens`/i.test(sql));
    expect(writes).toHaveLength(1);
    const listed = await gql<{ accessTokens: Made['accessToken'][] }>(t.url, LIST, {}, owner.token);
    const lastUsedAt = listed.data!.accessTokens.find((a) => a.id === accessToken.id)!.lastUsedAt;
    expect(Date.now() - Date.parse(lastUsedAt!)).toBeLessThan(60_000);
  });

  it('the CLI signs in with STRATUS_TOKEN: upload, whoami and download; a READ token cannot upload', async () => {
    const write = await create({ name: 'cli', scopes: ['WRITE'] });
    const dir = tempDir('stratus-pat-cli-');
    const file = path.join(dir, 'cli.bin');
    writeFileSync(file, randomBytes(3 * 1024 * 1024));
    const home = makeHome();
    const up = await run(['upload', file, '--json'], { url: t.url, home, token: write.token });
    expect(up.code, up.stderr).toBe(0);
    const uploaded = JSON.parse(up.stdout) as { file: { id: string } };
    const me = await run(['whoami', '--json'], { url: t.url, home, token: write.token });
    expect(JSON.parse(me.stdout)).toMatchObject({ id: owner.userId });
    const read = await create({ name: 'cli-read', scopes: ['READ'] });
    const out = path.join(dir, 'back.bin');
    const down = await run(['download', uploaded.file.id, '--out', out], { url: t.url, home, token: read.token });
    expect(down.code, down.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(file))).toBe(true);
    const refused = await run(['upload', file], { url: t.url, home, token: read.token });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/FORBIDDEN|scope/);
  }, 120_000);
});
