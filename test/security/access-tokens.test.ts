/**
 * Personal access tokens under attack (issue 19), on the real stack with the shipped sign-in
 * limits: guessing tokens as the HTTP Basic password on WebDAV is a failed sign-in (backed off
 * per account and per address, RATE_LIMITED → 429 with Retry-After) while the owner keeps
 * working; a token works only as its owner's (Basic with another person's name is refused); a
 * token of a person who no longer exists is refused; a presented token is found by its hash, so
 * how much of it is right does not change how long the answer takes.
 *
 * Client addresses come from X-Forwarded-For, believed because the app trusts 127.0.0.1 as its
 * proxy; every run starts at a random place in 10/8 (the counters live in Redis for 15 minutes).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { redisEnv } from '../support/env.ts';
import { errorCode, gql } from '../support/graphql.ts';

let t: TestApp;
let alice: { token: string; userId: string; name: string; pat: string };
let bob: { token: string; userId: string; name: string; pat: string };

let ipSeq = randomBytes(3).readUIntBE(0, 3);
const freshIp = () => `10.${(ipSeq >> 16) & 255}.${(ipSeq >> 8) & 255}.${ipSeq++ & 255}`;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const guess = () => `stp_${randomBytes(32).toString('base64url')}`;

async function pat(token: string, scopes = ['WRITE']): Promise<string> {
  const res = await gql<{ createAccessToken: { token: string } }>(t.url, 'mutation($s: [AccessScope!]!) { createAccessToken(input: { name: "sec", scopes: $s }) { token } }', { s: scopes }, token);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createAccessToken.token;
}

async function person() {
  const name = `s${randomBytes(5).toString('hex')}`;
  const signed = await t.signUp(name);
  return { ...signed, name, pat: await pat(signed.token) };
}

/** PROPFIND Depth 0 of the WebDAV root with these credentials, from `ip`. */
async function dav(authorization: string | undefined, ip = freshIp()): Promise<Response> {
  return fetch(`${t.url}/dav/`, { method: 'PROPFIND', headers: { depth: '0', 'x-forwarded-for': ip, ...(authorization ? { authorization } : {}) } });
}

beforeAll(async () => {
  // '' = the documented defaults; Redis database 6 of its own (the counters must not meet other suites').
  t = await startTestApp({
    env: { ...redisEnv(6), TRUSTED_PROXIES: '127.0.0.1/32', SIGNIN_ATTEMPTS_PER_CLIENT_MINUTE: '', SIGNIN_FAILURES_PER_CLIENT: '', EMAIL_CODES_PER_CLIENT_HOUR: '' },
  });
  await t.app.runtime.kv.del('acct:code-client:127.0.0.1');
  alice = await person();
  bob = await person();
}, 60_000);
afterAll(() => t?.close());

describe('personal access tokens as the Basic password', () => {
  it('work with the owner\'s username or e-mail, and only the owner\'s', async () => {
    expect((await dav(basic(alice.name, alice.pat))).status).toBe(207);
    expect((await dav(basic(`${alice.name}@example.com`, alice.pat))).status).toBe(207);
    const wrong = await dav(basic(bob.name, alice.pat));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic realm="Stratus"/);
    // The account password is not a Basic password: only tokens are.
    expect((await dav(basic(alice.name, 'a-good-password-1'))).status).toBe(401);
  });

  it('guessing one account backs the guesser off (429, Retry-After) after the free failures; the owner is not held back', async () => {
    // A person of this test's own: no failures on the account before it.
    const victim = await person();
    const guesser = freshIp();
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 12 && !limited; i++) {
      const res = await dav(basic(victim.name, guess()), guesser);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    // 5 failures on the account, then this address waits (1 s, 2 s … doubling per failure).
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Even the right token waits from that address: the guesser learns nothing while backing off.
    expect((await dav(basic(victim.name, victim.pat), guesser)).status).toBe(429);
    // The owner, from their own address, is not affected.
    expect((await dav(basic(victim.name, victim.pat), freshIp())).status).toBe(207);
  });

  it('guessing across many names backs the address off after its free failures, on every name', async () => {
    const guesser = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 13 && !statuses.includes(429); i++) statuses.push((await dav(basic(`n${randomBytes(5).toString('hex')}`, guess()), guesser)).status);
    // 10 free failures and the 11th that starts the back-off, then refused at once.
    expect(statuses).toEqual([...Array<number>(11).fill(401), 429]);
    expect((await dav(basic(bob.name, guess()), guesser)).status).toBe(429);
  });

  it('a malformed Basic header is 401, never a server error', async () => {
    for (const header of ['Basic', 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`, `Basic ${Buffer.from(':stp_x').toString('base64')}`, 'Digest x']) {
      expect((await dav(header)).status, header).toBe(401);
    }
    expect((await dav(undefined)).status).toBe(401);
  });
});

describe('tokens of someone else, or of no one', () => {
  it('a token of a person who no longer exists is refused, as Bearer and as Basic', async () => {
    const gone = await person();
    expect((await gql(t.url, '{ me { id } }', {}, gone.pat)).data).toEqual({ me: { id: gone.userId } });
    await t.app.runtime.orm.em.fork().getConnection().execute('delete from users where id = ?', [gone.userId]);
    const res = await gql(t.url, '{ me { id } }', {}, gone.pat);
    expect([res.status, errorCode(res)]).toEqual([401, 'UNAUTHENTICATED']);
    expect((await dav(basic(gone.name, gone.pat))).status).toBe(401);
    expect((await fetch(`${t.url}/files/${gone.userId}/content`, { headers: { authorization: `Bearer ${gone.pat}` } })).status).toBe(401);
  });

  it("bob's token acts as bob only: alice's ids are NOT_FOUND through it", async () => {
    const folder = await gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "alice-only") { id } }', {}, alice.token);
    const res = await gql(t.url, 'query($id: ID!) { file(id: $id) { id } }', { id: folder.data!.createFolder.id }, bob.pat);
    expect(errorCode(res)).toBe('NOT_FOUND');
  });

  it('takes as long for a token right but for its last character as for one wrong from the first (found by hash)', async () => {
    const last = alice.pat.slice(-1) === 'A' ? 'B' : 'A';
    const nearly = alice.pat.slice(0, -1) + last;
    const far = `stp_${alice.pat.slice(4).split('').reverse().join('')}`;
    const time = async (token: string) => {
      const started = process.hrtime.bigint();
      const res = await fetch(`${t.url}/files/${alice.userId}/content`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      expect(res.status).toBe(401);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 5; i++) await time(far); // warm up
    // Interleaved, so drift of the machine affects both alike.
    for (let i = 0; i < 40; i++) {
      a.push(await time(nearly));
      b.push(await time(far));
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const ratio = median(a) / median(b);
    expect(ratio).toBeGreaterThan(0.67);
    expect(ratio).toBeLessThan(1.5);
  });
});
