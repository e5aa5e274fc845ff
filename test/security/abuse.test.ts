/**
 * Guessing and replay, on the real stack: share passwords rate limited per link and per address,
 * share tokens with at least 128 random bits, refresh-token reuse revoking the whole family, and
 * rate limits on login, e-mail codes and ownership proofs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { redisEnv } from '../support/env.ts';
import { errorCode, type GraphQLResponse } from '../support/graphql.ts';

let t: TestApp;
let alice: { token: string; refreshToken: string; userId: string };
let aliceName: string;
let fileId: string;

beforeAll(async () => {
  // The client addresses below come as X-Forwarded-For from 127.0.0.1: trusted as a proxy here only.
  t = await startTestApp({ env: { ...redisEnv(13), TRUSTED_PROXIES: '127.0.0.1/32' } });
  aliceName = `a${randomBytes(5).toString('hex')}`;
  alice = await t.signUp(aliceName);
  fileId = (await uploadSmall(t.url, alice.token, 'doc.txt', 'shared words')).data!.uploadFile.id;
});
afterAll(() => t?.close());

/** GraphQL from a given client address (X-Forwarded-For, believed from 127.0.0.1 as TRUSTED_PROXIES says). */
async function gqlFrom(ip: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<GraphQLResponse> {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}
// Redis keeps the per-address budgets for 15 minutes: a run starting within that time of another
// must not inherit its addresses' spent budgets, so each run starts at a random place in 10/8.
let ipSeq = randomBytes(3).readUIntBE(0, 3);
const freshIp = () => `10.${(ipSeq >> 16) & 255}.${(ipSeq >> 8) & 255}.${ipSeq++ & 255}`;
const reason = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.details?.reason;
const retryAfter = (r: GraphQLResponse) => (r.errors?.[0]?.extensions as { retryAfter?: number } | undefined)?.retryAfter;

async function passwordShare(password: string): Promise<string> {
  const res = await gqlFrom('127.0.0.1', 'mutation($f: ID!, $p: String) { createShare(input: { fileId: $f, password: $p }) { token } }', { f: fileId, p: password }, alice.token);
  return (res.data as { createShare: { token: string } }).createShare.token;
}
const OPEN = 'query($t: String!, $p: String) { share(token: $t, password: $p) { root { name } } }';
const UNLOCK = 'mutation($t: String!, $p: String!) { unlockShare(token: $t, password: $p) }';

describe('share links', () => {
  it('have tokens of at least 128 random bits, all different', async () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await gqlFrom('127.0.0.1', 'mutation($f: ID!) { createShare(input: { fileId: $f }) { token } }', { f: fileId }, alice.token);
      const token = (res.data as { createShare: { token: string } }).createShare.token;
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(token, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
      tokens.add(token);
    }
    expect(tokens.size).toBe(20);
  });

  it('stop taking passwords for a link after 10 wrong ones, from whatever address they come', async () => {
    const token = await passwordShare('the-right-one');
    for (let i = 0; i < 10; i++) {
      const wrong = await gqlFrom(freshIp(), i % 2 ? OPEN : UNLOCK, { t: token, p: `guess-${i}` });
      expect(reason(wrong)).toBe('share_password');
    }
    for (const query of [OPEN, UNLOCK]) {
      const right = await gqlFrom(freshIp(), query, { t: token, p: 'the-right-one' });
      // The stable reason, and the 15 minutes of the window as Retry-After.
      expect([errorCode(right), reason(right), retryAfter(right)]).toEqual(['RATE_LIMITED', 'share_password_attempts', 900]);
      expect(right.data ?? null).toBeNull();
    }
  });

  it('stop taking passwords from an address after 30 wrong ones, whatever link they try', async () => {
    const attacker = freshIp();
    const links = await Promise.all([1, 2, 3, 4].map((i) => passwordShare(`password-${i}`)));
    for (let i = 0; i < 30; i++) {
      // At most 8 per link: the per-link limit (10) is never what stops them.
      const wrong = await gqlFrom(attacker, OPEN, { t: links[i % 4], p: `guess-${i}` });
      expect(reason(wrong), `attempt ${i}`).toBe('share_password');
    }
    const fresh = await passwordShare('fresh-password');
    for (const query of [OPEN, UNLOCK]) {
      const refused = await gqlFrom(attacker, query, { t: fresh, p: 'fresh-password' });
      expect([errorCode(refused), reason(refused), retryAfter(refused)]).toEqual(['RATE_LIMITED', 'share_password_attempts', 900]);
    }
    // Someone else is not locked out by the attacker.
    expect(await gqlFrom(freshIp(), OPEN, { t: fresh, p: 'fresh-password' })).toMatchObject({ data: { share: { root: { name: 'doc.txt' } } } });
  });
});

describe('accounts', () => {
  const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }';
  const REFRESH = 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }';

  it('reusing a refresh token revokes its whole family, and only that family', async () => {
    const login = async () => (await gqlFrom(freshIp(), LOGIN, { u: aliceName, p: 'a-good-password-1' })).data as { login: { refreshToken: string } };
    const first = (await login()).login.refreshToken;
    const other = (await login()).login.refreshToken;
    const second = ((await gqlFrom(freshIp(), REFRESH, { t: first })).data as { refreshToken: { refreshToken: string } }).refreshToken.refreshToken;
    // The thief (or the owner) presents the used token again: the family ends.
    const replay = await gqlFrom(freshIp(), REFRESH, { t: first });
    expect(errorCode(replay)).toBe('UNAUTHENTICATED');
    expect(reason(replay)).toBe('refresh_reused');
    const next = await gqlFrom(freshIp(), REFRESH, { t: second });
    expect(errorCode(next)).toBe('UNAUTHENTICATED');
    expect(next.data ?? null).toBeNull();
    // Another sign-in of the same person is another family: it still works.
    expect(errorCode(await gqlFrom(freshIp(), REFRESH, { t: other }))).toBeUndefined();
  });

  it('login: after 5 failures on a name, the addresses that failed back off on it (the right password included), the owner elsewhere does not; unknown names too', async () => {
    const name = `v${randomBytes(5).toString('hex')}`;
    await t.signUp(name);
    const guesser = freshIp();
    for (let i = 0; i < 5; i++) expect(reason(await gqlFrom(guesser, LOGIN, { u: name, p: `wrong-password-${i}` }))).toBe('bad_credentials');
    const limited = await gqlFrom(guesser, LOGIN, { u: name, p: 'a-good-password-1' });
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    expect(reason(limited)).toBe('login_failures');
    expect(limited.data ?? null).toBeNull();
    // A back-off, not a lock-out: the owner from an address that has not been failing gets in.
    expect(errorCode(await gqlFrom(freshIp(), LOGIN, { u: name, p: 'a-good-password-1' }))).toBeUndefined();
    const ghost = `ghost${randomBytes(4).toString('hex')}`;
    const ghostGuesser = freshIp();
    for (let i = 0; i < 5; i++) await gqlFrom(ghostGuesser, LOGIN, { u: ghost, p: `wrong-password-${i}` });
    // The same answer as for a real name: the limit does not tell which names exist.
    expect(reason(await gqlFrom(ghostGuesser, LOGIN, { u: ghost, p: 'anything-at-all-1' }))).toBe('login_failures');
  });

  it('e-mail codes: one send a minute and ten an hour per address', async () => {
    const email = `c${randomBytes(5).toString('hex')}@example.com`;
    const REQUEST = 'mutation($e: String!) { requestEmailCode(email: $e) }';
    expect((await gqlFrom(freshIp(), REQUEST, { e: email })).data).toEqual({ requestEmailCode: true });
    const again = await gqlFrom(freshIp(), REQUEST, { e: email });
    expect(errorCode(again)).toBe('RATE_LIMITED');
    expect(reason(again)).toBe('code_send_interval');
    const hourly = `x${randomBytes(5).toString('hex')}@example.com`;
    // Ten sends an hour at most: the minute between sends is skipped here by dropping its marker.
    for (let i = 0; i < 10; i++) {
      await t.app.runtime.kv.del(`acct:code:${hourly}:sent`);
      expect(errorCode(await gqlFrom(freshIp(), REQUEST, { e: hourly }))).toBeUndefined();
    }
    await t.app.runtime.kv.del(`acct:code:${hourly}:sent`);
    expect(reason(await gqlFrom(freshIp(), REQUEST, { e: hourly }))).toBe('code_send_hourly');
  });

  it('e-mail codes: after 5 wrong tries even the right code is refused', async () => {
    // The code is stored as its SHA-256 only; six digits are few enough to find it from that here.
    const name = `w${randomBytes(5).toString('hex')}`;
    const email = `${name}@example.com`;
    await gqlFrom(freshIp(), 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
    const REGISTER = 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }';
    const stored = await t.app.runtime.kv.get(`acct:code:${email}`);
    expect(stored).toMatch(/^[0-9a-f]{64}$/); // a digest, never the code itself
    let right = '';
    for (let n = 0; n < 1_000_000 && !right; n++) {
      const c = String(n).padStart(6, '0');
      if (createHash('sha256').update(c).digest('hex') === stored) right = c;
    }
    expect(right).toMatch(/^\d{6}$/);
    const wrong = right === '000000' ? '000001' : '000000';
    for (let i = 0; i < 5; i++) {
      expect(reason(await gqlFrom(freshIp(), REGISTER, { i: { username: name, email, password: 'a-fine-password-77', code: wrong } }))).toBe('code_invalid');
    }
    const late = await gqlFrom(freshIp(), REGISTER, { i: { username: name, email, password: 'a-fine-password-77', code: right } });
    expect(reason(late)).toBe('code_invalid');
    expect(late.data ?? null).toBeNull();
  });
});

describe('instant upload', () => {
  it('ownership proofs: 5 per session, then RATE_LIMITED', async () => {
    const create = await gqlFrom('127.0.0.1', 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id challenge { ranges { offset } } } }', { i: { name: 'p.bin', size: 1000, contentHash: 'cd'.repeat(32) } }, alice.token);
    const sid = (create.data as { createUpload: { id: string; challenge: { ranges: unknown[] } } }).createUpload.id;
    const PROVE = 'mutation($s: ID!, $p: [String!]!) { proveOwnership(sessionId: $s, proofs: $p) { status } }';
    for (let i = 0; i < 5; i++) {
      const res = await gqlFrom('127.0.0.1', PROVE, { s: sid, p: ['00'.repeat(32)] }, alice.token);
      expect(errorCode(res), JSON.stringify(res.errors)).toBeUndefined();
      expect(res.data).toEqual({ proveOwnership: { status: 'PENDING' } });
    }
    const limited = await gqlFrom('127.0.0.1', PROVE, { s: sid, p: ['00'.repeat(32)] }, alice.token);
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    expect(reason(limited)).toBe('proof_attempts');
  });
});
