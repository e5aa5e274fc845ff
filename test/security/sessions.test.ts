/**
 * Sessions under attack (issue 17, item 7 and the refresh cookie of item 9), on the real stack
 * (MariaDB, Redis, Ceph): a logged-out login must stop working at once everywhere (HTTP, byte
 * endpoints, graphql-ws, open sockets closed with 4403), a socket must not outlive its token,
 * password changes and resets end logins, two tabs refreshing at once are not a replay, a JWT
 * without `exp` is refused, an unlock token dies with the share password it proved.
 */
import { SignJWT } from 'jose';
import { createClient, type Client } from 'graphql-ws';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TokenSigner } from '../../internal/platform/auth/access-token.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { runOverWs } from '../support/ws.ts';
import { errorCode, gql, type GraphQLResponse } from '../support/graphql.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';

const PASSWORD = 'a-good-password-1';
let t: TestApp;
const clients: Client[] = [];

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await t?.close();
});

type Person = { token: string; userId: string; refreshToken: string; name: string };
async function person(): Promise<Person> {
  const name = `s${Math.random().toString(36).slice(2, 10)}`;
  return { ...(await t.signUp(name)), name };
}
async function login(p: Person, password = PASSWORD): Promise<{ token: string; refreshToken: string }> {
  const res = await gql<{ login: { accessToken: string; refreshToken: string } }>(t.url, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }', { u: p.name, p: password });
  if (!res.data) throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
  return { token: res.data.login.accessToken, refreshToken: res.data.login.refreshToken };
}
const me = (token: string) => gql<{ me: { id: string } }>(t.url, '{ me { id } }', {}, token);
const reason = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.details?.reason;

function socket(token: string, closes: number[] = []): Client {
  const client = createClient({
    url: `${t.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    connectionParams: { authorization: `Bearer ${token}` },
    on: { closed: (event) => closes.push((event as { code: number }).code) },
  });
  clients.push(client);
  return client;
}
const run = runOverWs;
/** A heartbeat subscription; the returned promise settles when it ends (with the close code, if any). */
function heartbeat(client: Client): Promise<string> {
  return new Promise((resolve) => {
    client.subscribe({ query: 'subscription { heartbeat(intervalMs: 200) { at } }' }, {
      next: () => undefined,
      error: (error) => resolve(Array.isArray(error) ? 'errors' : `closed ${(error as { code?: number }).code}`),
      complete: () => resolve('complete'),
    });
  });
}
const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, sleep(ms).then(() => 'timeout' as const)]);

describe('logout', () => {
  it('ends that login at once: its access token is refused over HTTP, the byte endpoints and graphql-ws, its open sockets close with 4403', async () => {
    const alice = await person();
    const file = (await uploadSmall(t.url, alice.token, 'a.txt', 'abc')).data!.uploadFile.id;
    const other = await login(alice);
    const closes: number[] = [];
    const ws = socket(alice.token, closes);
    expect((await run<{ me: { id: string } }>(ws, '{ me { id } }')).data?.me.id).toBe(alice.userId);
    const sub = heartbeat(ws);
    await sleep(300);

    expect((await gql(t.url, 'mutation($r: String!) { logout(refreshToken: $r) }', { r: alice.refreshToken })).data).toEqual({ logout: true });

    const http = await me(alice.token);
    expect(http.status).toBe(401);
    expect(errorCode(http)).toBe('UNAUTHENTICATED');
    const bytes = await fetch(`${t.url}/files/${file}/content`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(bytes.status).toBe(401);
    expect(await within(sub, 3_000)).toBe('closed 4403');
    expect(closes).toContain(4403);
    const fresh: number[] = [];
    await expect(run(socket(alice.token, fresh), '{ me { id } }')).rejects.toThrow(/4403/);
    // The other login of the same person goes on.
    expect((await me(other.token)).data?.me.id).toBe(alice.userId);
  });

  it('logoutAll ends every login of the person, sockets included', async () => {
    const bob = await person();
    const second = await login(bob);
    const sub = heartbeat(socket(second.token));
    await sleep(300);
    const res = await gql(t.url, 'mutation { logoutAll }', {}, bob.token);
    expect(res.data).toEqual({ logoutAll: true });
    expect(errorCode(await me(bob.token))).toBe('UNAUTHENTICATED');
    expect(errorCode(await me(second.token))).toBe('UNAUTHENTICATED');
    expect(await within(sub, 3_000)).toBe('closed 4403');
    const refresh = await gql(t.url, 'mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }', { r: second.refreshToken });
    expect(reason(refresh)).toBe('refresh_revoked');
  });
});

describe('graphql-ws connections do not outlive their token', () => {
  const signer = new TokenSigner(new TextEncoder().encode(TEST_JWT_SECRET));

  it('close with 4403 when the token expires, and take no new operation after it', async () => {
    const carol = await person();
    const short = await signer.signAccess({ userId: carol.userId, username: carol.name, isAdmin: false }, 2);
    const closes: number[] = [];
    const ws = socket(short, closes);
    const sub = heartbeat(ws);
    expect(await within(sub, 5_000)).toBe('closed 4403');
    expect(closes).toEqual([4403]);
  });

  it('live on when refreshed over the connection (refreshConnection), as the same person only', async () => {
    const dave = await person();
    const short = await signer.signAccess({ userId: dave.userId, username: dave.name, isAdmin: false }, 2);
    const ws = socket(short);
    const sub = heartbeat(ws);
    const refreshed = await run<{ refreshConnection: boolean }>(ws, 'mutation($t: String!) { refreshConnection(accessToken: $t) }', { t: dave.token });
    expect(refreshed.data).toEqual({ refreshConnection: true });
    expect(await within(sub, 3_500)).toBe('timeout');
    expect((await run<{ me: { id: string } }>(ws, '{ me { id } }')).data?.me.id).toBe(dave.userId);
    // Someone else's token does not take the connection over.
    const erin = await person();
    const other = await run(ws, 'mutation($t: String!) { refreshConnection(accessToken: $t) }', { t: erin.token });
    expect(other.errors?.[0]?.extensions?.code).toBe('BAD_INPUT');
    // Over HTTP there is no connection to refresh.
    const http = await gql(t.url, 'mutation($t: String!) { refreshConnection(accessToken: $t) }', { t: dave.token }, dave.token);
    expect(reason(http)).toBe('not_a_websocket');
  });

  it('a JWT without exp is refused (HTTP and graphql-ws)', async () => {
    const frank = await person();
    const noExp = await new SignJWT({ typ: 'access', usr: frank.name, adm: false, sid: 'x' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('stratus')
      .setSubject(frank.userId)
      .setIssuedAt()
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    expect((await me(noExp)).status).toBe(401);
    await expect(run(socket(noExp), '{ me { id } }')).rejects.toThrow(/4403/);
  });
});

describe('passwords', () => {
  it('changePassword ends the other logins and keeps this one', async () => {
    const gina = await person();
    const other = await login(gina);
    const sub = heartbeat(socket(other.token));
    await sleep(300);
    const wrong = await gql(t.url, 'mutation { changePassword(oldPassword: "not-it-at-all-9", newPassword: "another-good-pass-2") }', {}, gina.token);
    expect(errorCode(wrong)).toBe('UNAUTHENTICATED');
    const res = await gql(t.url, 'mutation { changePassword(oldPassword: "a-good-password-1", newPassword: "another-good-pass-2") }', {}, gina.token);
    expect(res.data).toEqual({ changePassword: true });
    expect((await me(gina.token)).data?.me.id).toBe(gina.userId);
    expect(errorCode(await me(other.token))).toBe('UNAUTHENTICATED');
    expect(await within(sub, 3_000)).toBe('closed 4403');
    expect((await login(gina, 'another-good-pass-2')).token).toBeTruthy();
  });

  it('a forgotten password is reset by an e-mailed code: always true, no mail for unknown addresses, every login ended', async () => {
    const hal = await person();
    const email = `${hal.name}@example.com`;
    const ask = (e: string) => gql(t.url, 'mutation($e: String!) { requestPasswordReset(email: $e) }', { e });
    const nobody = `nobody-${hal.name}@example.com`;
    expect((await ask(nobody)).data).toEqual({ requestPasswordReset: true });
    expect((await ask(email)).data).toEqual({ requestPasswordReset: true });
    // Asking again within the minute is still true (no hint), and sends nothing new.
    expect((await ask(nobody)).data).toEqual({ requestPasswordReset: true });
    await sleep(200);
    expect(t.codes.get(nobody)).toBeUndefined();
    const code = t.codes.get(email);
    expect(code).toMatch(/^\d{6}$/);
    const reset = (e: string, c: string) => gql(t.url, 'mutation($e: String!, $c: String!) { resetPassword(email: $e, code: $c, newPassword: "a-reset-password-3") }', { e, c });
    expect(reason(await reset(nobody, '123456'))).toBe('code_invalid');
    // A registration code is not a reset code.
    expect(reason(await reset(email, code === '000000' ? '000001' : '000000'))).toBe('code_invalid');
    expect((await reset(email, code!)).data).toEqual({ resetPassword: true });
    expect(errorCode(await me(hal.token))).toBe('UNAUTHENTICATED');
    expect(reason(await reset(email, code!))).toBe('code_invalid');
    expect((await login(hal, 'a-reset-password-3')).token).toBeTruthy();
  });
});

describe('refresh tokens', () => {
  const REFRESH = 'mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }';
  type Pair = { refreshToken: { accessToken: string; refreshToken: string } };

  it('two tabs refreshing one token at once both get the same new pair; a reuse after the grace revokes the family', async () => {
    const ivy = await person();
    const [a, b] = await Promise.all([gql<Pair>(t.url, REFRESH, { r: ivy.refreshToken }), gql<Pair>(t.url, REFRESH, { r: ivy.refreshToken })]);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(a.data?.refreshToken).toEqual(b.data?.refreshToken);
    const next = a.data!.refreshToken;
    expect((await me(next.accessToken)).data?.me.id).toBe(ivy.userId);
    const later = await gql<Pair>(t.url, REFRESH, { r: next.refreshToken });
    expect(later.errors).toBeUndefined();
    await sleep(11_000);
    expect(reason(await gql(t.url, REFRESH, { r: next.refreshToken }))).toBe('refresh_reused');
    expect(errorCode(await me(later.data!.refreshToken.accessToken))).toBe('UNAUTHENTICATED');
  }, 30_000);

  it('the web app keeps it in an HttpOnly, SameSite=Strict cookie of /auth, behind a CSRF header', async () => {
    const jay = await person();
    const start = await fetch(`${t.url}/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-stratus-csrf': '1' }, body: JSON.stringify({ refreshToken: jay.refreshToken }) });
    expect(start.status).toBe(200);
    const cookie = start.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^stratus_refresh=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Strict/i);
    expect(cookie).toMatch(/; Path=\/auth(;|$)/i);
    const body = (await start.json()) as { accessToken: string; refreshToken?: string };
    expect(body.refreshToken).toBeUndefined();
    expect((await me(body.accessToken)).data?.me.id).toBe(jay.userId);
    const jar = cookie.split(';')[0]!;
    // Without the CSRF header (what a cross-site form could send): refused, nothing rotated.
    const forged = await fetch(`${t.url}/auth/refresh`, { method: 'POST', headers: { cookie: jar } });
    expect(forged.status).toBe(403);
    const again = await fetch(`${t.url}/auth/refresh`, { method: 'POST', headers: { cookie: jar, 'x-stratus-csrf': '1' } });
    expect(again.status).toBe(200);
    expect(again.headers.get('set-cookie')?.split(';')[0]).not.toBe(jar);
    const out = await fetch(`${t.url}/auth/logout`, { method: 'POST', headers: { cookie: again.headers.get('set-cookie')!.split(';')[0]!, 'x-stratus-csrf': '1' } });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^stratus_refresh=;.*Max-Age=0/i);
    expect(errorCode(await me(((await again.json()) as { accessToken: string }).accessToken))).toBe('UNAUTHENTICATED');
  });
});

describe('share unlock tokens', () => {
  it('stop working when the owner changes or removes the share password', async () => {
    const kim = await person();
    const file = (await uploadSmall(t.url, kim.token, 'k.txt', 'kim')).data!.uploadFile.id;
    const made = await gql<{ createShare: { id: string; token: string } }>(t.url, 'mutation($f: ID!) { createShare(input: { fileId: $f, password: "first-pw" }) { id token } }', { f: file }, kim.token);
    const { id, token } = made.data!.createShare;
    const unlock = async (p: string) => (await gql<{ unlockShare: string }>(t.url, 'mutation($t: String!, $p: String!) { unlockShare(token: $t, password: $p) }', { t: token, p })).data!.unlockShare;
    const open = (u: string) => gql(t.url, 'query($t: String!, $u: String) { share(token: $t, unlockToken: $u) { root { name } } }', { t: token, u });
    const setPassword = (p: string | null) => gql(t.url, 'mutation($id: ID!, $p: String) { updateShare(id: $id, input: { password: $p }) { id } }', { id, p }, kim.token);

    const first = await unlock('first-pw');
    expect((await open(first)).data).toEqual({ share: { root: { name: 'k.txt' } } });
    await setPassword('second-pw');
    expect(reason(await open(first))).toBe('share_password_required');
    const second = await unlock('second-pw');
    expect((await open(second)).data).toBeTruthy();
    const download = await fetch(`${t.url}/s/${token}?unlock=${encodeURIComponent(second)}`);
    expect(download.status).toBe(200);
    // Removed, then set again (even to the same password): the old unlock token is dead.
    await setPassword(null);
    await setPassword('second-pw');
    expect(reason(await open(second))).toBe('share_password_required');
    expect((await fetch(`${t.url}/s/${token}?unlock=${encodeURIComponent(second)}`)).status).toBe(401);
  });
});
