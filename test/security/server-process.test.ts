/**
 * The real server as a child process (`api/main.ts`) on the real stack (MariaDB, Redis, Ceph):
 * - secrets never logged: LOG_LEVEL=debug, e-mail over SMTP, then register, login, a wrong
 *   login, refresh, a refresh-token reuse, a password share, unlock and download; the captured
 *   stdout/stderr must contain none of the password, codes, tokens or the share password;
 * - GraphQL introspection off with NODE_ENV=production (on in development);
 * - query depth, cost and alias limits, and batched (array) bodies refused.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cephBackend } from '../support/app.ts';
import { createMysqlDatabase, tempDir, type TestDatabase } from '../support/db.ts';
import { redisEnv } from '../support/env.ts';
import { errorCode, gql } from '../support/graphql.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

let db: TestDatabase;
let inbox: Inbox;
let dev: ServerProcess;
let prod: ServerProcess;

function env(extra: Record<string, string>): Record<string, string> {
  const dataDir = tempDir('stratus-sec-');
  const storage = path.join(dataDir, 'storage.json');
  writeFileSync(storage, JSON.stringify({ default: 'ceph', backends: [cephBackend()] }));
  return { DATA_DIR: dataDir, DATABASE_URL: db.url ?? '', ...redisEnv(15), STORAGE_CONFIG: storage, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: inbox.url, ...extra };
}

beforeAll(async () => {
  db = await createMysqlDatabase('sec');
  inbox = await startInbox();
  // The test speaks for a second client through X-Forwarded-For (the refresh reuse below).
  dev = await startServerProcess(env({ LOG_LEVEL: 'debug', TRUSTED_PROXIES: '127.0.0.1/32' }), 60_000);
  prod = await startServerProcess(env({ NODE_ENV: 'production', LOG_LEVEL: 'info' }), 60_000);
}, 120_000);
afterAll(async () => {
  await dev?.stop();
  await prod?.stop();
  await inbox?.close();
  await db?.drop();
});

describe('secrets in the logs', () => {
  it('none of the password, e-mail code, tokens, share password or unlock token is ever logged', async () => {
    const url = dev.url;
    const name = `s${randomBytes(5).toString('hex')}`;
    const email = `${name}@example.com`;
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
    const sharePassword = `share-${randomBytes(8).toString('hex')}`;
    const secrets: Record<string, string> = { password, wrongPassword, sharePassword };

    await gql(url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
    secrets.code = await inbox.codeFor(email);
    const reg = await gql<{ register: { accessToken: string; refreshToken: string } }>(url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken } }', { i: { username: name, email, password, code: secrets.code } });
    secrets.registerAccess = reg.data!.register.accessToken;
    secrets.registerRefresh = reg.data!.register.refreshToken;
    await gql(url, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }', { u: name, p: wrongPassword });
    const login = await gql<{ login: { accessToken: string; refreshToken: string } }>(url, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }', { u: name, p: password });
    secrets.loginAccess = login.data!.login.accessToken;
    secrets.loginRefresh = login.data!.login.refreshToken;
    const refreshed = await gql<{ refreshToken: { accessToken: string; refreshToken: string } }>(url, 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }', { t: secrets.loginRefresh });
    secrets.refreshedAccess = refreshed.data!.refreshToken.accessToken;
    secrets.refreshedRefresh = refreshed.data!.refreshToken.refreshToken;
    // A reuse from another client, outside the two-tab grace of the same client (logged as a
    // security event, one hopes without the token).
    const reuse = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' },
      body: JSON.stringify({ query: 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', variables: { t: secrets.loginRefresh } }),
    });
    expect(errorCode((await reuse.json()) as never)).toBe('UNAUTHENTICATED');
    const token = secrets.registerAccess;

    const form = new FormData();
    form.append('operations', JSON.stringify({ query: 'mutation($f: Upload!) { uploadFile(file: $f) { id } }', variables: { f: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.f'] }));
    form.append('0', new Blob([Buffer.from('logged bytes?')]), 'secret.txt');
    const up = (await (await fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, body: form })).json()) as { data: { uploadFile: { id: string } } };
    const share = await gql<{ createShare: { token: string } }>(url, 'mutation($f: ID!, $p: String) { createShare(input: { fileId: $f, password: $p }) { token } }', { f: up.data.uploadFile.id, p: sharePassword }, token);
    secrets.shareToken = share.data!.createShare.token;
    await gql(url, 'query($t: String!, $p: String) { share(token: $t, password: $p) { root { name } } }', { t: secrets.shareToken, p: 'not-the-share-password' });
    const unlock = await gql<{ unlockShare: string }>(url, 'mutation($t: String!, $p: String!) { unlockShare(token: $t, password: $p) }', { t: secrets.shareToken, p: sharePassword });
    secrets.unlockToken = unlock.data!.unlockShare;
    expect((await fetch(`${url}/s/${secrets.shareToken}`, { headers: { authorization: `Bearer ${secrets.unlockToken}` } })).status).toBe(200);
    expect((await fetch(`${url}/files/${up.data.uploadFile.id}/content`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // An upload session and a chunk with a bearer token, and a bad token.
    expect((await fetch(`${url}/files/${up.data.uploadFile.id}/content`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    await gql(url, 'mutation($t: String!) { logout(refreshToken: $t) }', { t: secrets.refreshedRefresh });

    await new Promise((r) => setTimeout(r, 300)); // let the last lines arrive
    const logs = dev.logs.join('');
    expect(logs).toContain('"level":20'); // debug lines are there: the test looks at real output
    expect(logs.split('\n').length).toBeGreaterThan(20);
    for (const [what, value] of Object.entries(secrets)) {
      expect(logs.includes(value), `${what} appears in the logs`).toBe(false);
      // A JWT's signature alone is enough to replay it: look for its parts too.
      for (const part of value.split('.').filter((p) => p.length >= 16)) expect(logs.includes(part), `part of ${what} appears in the logs`).toBe(false);
    }
  }, 60_000);
});

describe('GraphQL limits', () => {
  it('introspection is off in production and on in development', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "User") { fields { name } } }']) {
      const res = await gql(prod.url, query);
      expect(res.errors?.length, query).toBeGreaterThan(0);
      expect(res.data ?? null).toBeNull();
      expect(JSON.stringify(res)).not.toContain('UploadSession');
      expect((await gql(dev.url, query)).errors).toBeUndefined();
    }
    // __typename is not introspection: it keeps working.
    expect((await gql(prod.url, '{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('refuses queries that are too deep, too costly or have too many aliases, before running them', async () => {
    for (const url of [dev.url, prod.url]) {
      const deep = `{ folder { ${'children { edges { node { '.repeat(5)}id${' } } }'.repeat(5)} } }`;
      const r1 = await gql(url, deep);
      expect(r1.errors?.[0]?.extensions?.details?.reason).toBe('query_too_deep');
      expect(r1.data ?? undefined).toBeUndefined();
      const costly = '{ folder { children(first: 500) { edges { node { children(first: 500) { edges { node { id name } } } } } } } }';
      expect((await gql(url, costly)).errors?.[0]?.extensions?.details?.reason).toBe('query_too_costly');
      // A page size from a variable is assumed large: nesting three of them is too costly as well.
      const viaVars = 'query($n: Int) { folder { children(first: $n) { edges { node { children(first: $n) { edges { node { children(first: $n) { edges { node { id } } } } } } } } } } }';
      expect((await gql(url, viaVars, { n: 500 })).errors?.[0]?.extensions?.details?.reason).toBe('query_too_costly');
      const aliases = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
      expect((await gql(url, aliases)).errors?.[0]?.extensions?.details?.reason).toBe('too_many_aliases');
      // Depth hidden in fragments counts the same.
      const fragments = `query { folder { ...A } } ${Array.from({ length: 14 }, (_, i) => `fragment ${String.fromCharCode(65 + i)} on File { parent { ${i < 13 ? `...${String.fromCharCode(66 + i)}` : 'id'} } }`).join(' ')}`;
      expect((await gql(url, fragments)).errors?.[0]?.extensions?.details?.reason).toBe('query_too_deep');
    }
  });

  it('refuses a subscription over HTTP as bad input (graphql-ws only), not as an internal error', async () => {
    for (const url of [dev.url, prod.url]) {
      const res = await gql(url, 'subscription { heartbeat { at } }');
      expect(res.errors?.[0]?.extensions?.details?.reason).toBe('subscription_over_http');
      expect(res.data ?? null).toBeNull();
    }
  });

  it('refuses a batched (array) body and keeps working', async () => {
    for (const url of [dev.url, prod.url]) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(Array.from({ length: 100 }, () => ({ query: 'mutation { requestEmailCode(email: "x@example.com") }' }))),
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await res.text()).not.toContain('requestEmailCode');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    }
  });

  it('refuses oversized bodies and many operations in one document', async () => {
    const big = await fetch(`${dev.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ __typename } # ${'x'.repeat(2 * 1024 * 1024)}` }) });
    expect(big.status).toBe(413);
    const many = await gql(dev.url, Array.from({ length: 50 }, (_, i) => `query Q${i} { __typename }`).join('\n'));
    expect(many.status).toBe(400);
    expect(many.data ?? null).toBeNull();
  });
});
