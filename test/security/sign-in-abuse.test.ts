/**
 * Sign-in abuse (issue 17 item 5), on the real stack with the shipped limits: one address may not
 * spread guesses over any number of names, a name and its e-mail are one account, guessing backs
 * the guesser off instead of locking the owner out, the scrypt work one address can cause is
 * bounded, and e-mail codes are limited per client address too.
 *
 * Client addresses come from X-Forwarded-For, believed here because the app trusts 127.0.0.1 as
 * its proxy (TRUSTED_PROXIES). Redis keeps budgets for 15 minutes to an hour, so each run starts
 * at a random place in 10/8 and never reuses an address.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { redisEnv } from '../support/env.ts';
import { errorCode, type GraphQLResponse } from '../support/graphql.ts';

let t: TestApp;
const PASSWORD = 'a-good-password-1';
const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }';
const REQUEST = 'mutation($e: String!) { requestEmailCode(email: $e) }';

beforeAll(async () => {
  // '' = the documented default (test/support raises these limits for the functional suites).
  // Redis database 5 of its own: t.signUp asks for codes from 127.0.0.1 itself, whose budget the
  // other suites (roomy limits, database 0) spend; here it starts afresh each run.
  t = await startTestApp({
    env: { ...redisEnv(5), TRUSTED_PROXIES: '127.0.0.1/32', SIGNIN_ATTEMPTS_PER_CLIENT_MINUTE: '', SIGNIN_FAILURES_PER_CLIENT: '', EMAIL_CODES_PER_CLIENT_HOUR: '' },
  });
  await t.app.runtime.kv.del('acct:code-client:127.0.0.1', 'acct:signin:cpu:127.0.0.1');
});
afterAll(() => t?.close());

let ipSeq = randomBytes(3).readUIntBE(0, 3);
const freshIp = () => `10.${(ipSeq >> 16) & 255}.${(ipSeq >> 8) & 255}.${ipSeq++ & 255}`;
const reason = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.details?.reason as string | undefined;
const retryAfter = (r: GraphQLResponse) => (r.errors?.[0]?.extensions as { retryAfter?: number } | undefined)?.retryAfter;
const name = (prefix: string) => `${prefix}${randomBytes(5).toString('hex')}`;

async function gqlFrom(ip: string, query: string, variables: Record<string, unknown>): Promise<GraphQLResponse> {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}

/** Password checks (scrypt runs) of sign-ins so far, from the app's own /metrics. */
async function passwordChecks(): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith('stratus_sign_in_password_checks_total')) sum += Number(line.split(' ').pop());
  return sum;
}

describe('sign-in abuse', () => {
  it('one address guessing across names is backed off after exactly its 10 free failures and one more, for every name', async () => {
    const attacker = freshIp();
    const answers: GraphQLResponse[] = [];
    // Every guess on a new name, until the first refusal (or 40 guesses).
    while (answers.length < 40 && !answers.some((a) => errorCode(a) === 'RATE_LIMITED')) {
      answers.push(await gqlFrom(attacker, LOGIN, { u: name('g'), p: `guess-${answers.length}-xyz` }));
    }
    // The 10 free failures, then the 11th (whose failure starts the 1 s back-off), then refused at once.
    expect(answers.map(reason)).toEqual([...Array<string>(11).fill('bad_credentials'), 'login_client_failures']);
    const refused = answers[11]!;
    expect([errorCode(refused), retryAfter(refused)]).toEqual(['RATE_LIMITED', 1]);
    // Still backing off, on yet another name.
    expect(reason(await gqlFrom(attacker, LOGIN, { u: name('g'), p: 'guess-xyz' }))).toBe('login_client_failures');
    // The owner of some other name, from another address, is not affected.
    const owner = name('o');
    await t.signUp(owner);
    expect(errorCode(await gqlFrom(freshIp(), LOGIN, { u: owner, p: PASSWORD }))).toBeUndefined();
  });

  it('the back-off grows with every further failure (retryAfter 1 s, 2 s, 4 s)', async () => {
    const attacker = freshIp();
    for (let i = 0; i < 11; i++) await gqlFrom(attacker, LOGIN, { u: name('b'), p: 'wrong-password-1' });
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const limited = await gqlFrom(attacker, LOGIN, { u: name('b'), p: 'wrong-password-1' });
      expect(reason(limited)).toBe('login_client_failures');
      waits.push(retryAfter(limited) ?? 0);
      // Skip the wait (as the abuse suite skips the minute between e-mail codes), then fail once more.
      await t.app.runtime.kv.del(`acct:signin:ip:${attacker}:wait`);
      expect(reason(await gqlFrom(attacker, LOGIN, { u: name('b'), p: 'wrong-password-1' }))).toBe('bad_credentials');
    }
    expect(waits).toEqual([1, 2, 4]);
  });

  it('a name and its e-mail share one counter: failures on either back the guesser off on both', async () => {
    const victim = name('n');
    await t.signUp(victim);
    const attacker = freshIp();
    // Three on the name, two on the e-mail: five failures for the account from one address.
    for (let i = 0; i < 5; i++) {
      const login = i < 3 ? victim : `${victim}@example.com`;
      expect(reason(await gqlFrom(attacker, LOGIN, { u: login, p: `wrong-password-${i}` }))).toBe('bad_credentials');
    }
    for (const login of [victim, `${victim}@example.com`, victim.toUpperCase()]) {
      const limited = await gqlFrom(attacker, LOGIN, { u: login, p: 'wrong-password-x' });
      expect(errorCode(limited)).toBe('RATE_LIMITED');
      expect(reason(limited)).toBe('login_failures');
    }
  });

  it('the owner signs in from a clean address while the attacker\'s address is backed off; unknown names behave the same', async () => {
    const victim = name('v');
    await t.signUp(victim);
    const attacker = freshIp();
    for (let i = 0; i < 8; i++) await gqlFrom(attacker, LOGIN, { u: victim, p: `wrong-password-${i}` });
    // The attacker now holds the right password too: still refused, from this address.
    const attackerRight = await gqlFrom(attacker, LOGIN, { u: victim, p: PASSWORD });
    expect(errorCode(attackerRight)).toBe('RATE_LIMITED');
    expect(attackerRight.data ?? null).toBeNull();
    // The owner, from an address that has not been failing: in.
    const owner = await gqlFrom(freshIp(), LOGIN, { u: victim, p: PASSWORD });
    expect(errorCode(owner)).toBeUndefined();
    expect((owner.data as { login: { accessToken: string } }).login.accessToken).toBeTruthy();
    // The owner mistyping once from a clean address gets the ordinary answer, not a lock.
    expect(reason(await gqlFrom(freshIp(), LOGIN, { u: victim, p: 'typo-password-1' }))).toBe('bad_credentials');
    // A name nobody has: the same answers, so the limits tell nothing about which names exist.
    const ghost = name('ghost');
    const ghostAttacker = freshIp();
    for (let i = 0; i < 8; i++) await gqlFrom(ghostAttacker, LOGIN, { u: ghost, p: `wrong-password-${i}` });
    expect(reason(await gqlFrom(ghostAttacker, LOGIN, { u: ghost, p: PASSWORD }))).toBe('login_failures');
    expect(reason(await gqlFrom(freshIp(), LOGIN, { u: ghost, p: PASSWORD }))).toBe('bad_credentials');
  });

  it('bounds the scrypt work one address can cause: at most 20 password checks a minute, known names or not', async () => {
    const owner = name('s');
    await t.signUp(owner);
    const client = freshIp();
    const before = await passwordChecks();
    // Correct passwords, so no failure back-off is involved: only the budget stops them.
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => gqlFrom(client, LOGIN, { u: i % 2 ? owner : name('nobody'), p: PASSWORD })));
    const checks = (await passwordChecks()) - before;
    expect(checks).toBe(20);
    // Every answer that ran a check came back without RATE_LIMITED; the rest were refused before hashing.
    expect(answers.filter((a) => errorCode(a) !== 'RATE_LIMITED')).toHaveLength(checks);
    expect(answers.some((a) => reason(a) === 'login_client_budget')).toBe(true);
    // The budget is the address's: another address still signs in.
    expect(errorCode(await gqlFrom(freshIp(), LOGIN, { u: owner, p: PASSWORD }))).toBeUndefined();
  });

  it('requestEmailCode: at most 20 sends an hour from one client address, whatever the e-mail', async () => {
    const client = freshIp();
    for (let i = 0; i < 20; i++) {
      expect(errorCode(await gqlFrom(client, REQUEST, { e: `${name('m')}@example.com` }))).toBeUndefined();
    }
    const limited = await gqlFrom(client, REQUEST, { e: `${name('m')}@example.com` });
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    expect(reason(limited)).toBe('code_send_client');
    // The rest of the hour the first send opened (the window is one hour).
    expect(retryAfter(limited)).toBeGreaterThan(3_000);
    expect(retryAfter(limited)).toBeLessThanOrEqual(3_600);
    // Another client is not limited by this one.
    expect(errorCode(await gqlFrom(freshIp(), REQUEST, { e: `${name('m')}@example.com` }))).toBeUndefined();
  });

  it('requestPasswordReset sends codes too: it shares the per-client budget of requestEmailCode', async () => {
    const client = freshIp();
    const RESET = 'mutation($e: String!) { requestPasswordReset(email: $e) }';
    for (let i = 0; i < 10; i++) expect(errorCode(await gqlFrom(client, REQUEST, { e: `${name('m')}@example.com` }))).toBeUndefined();
    for (let i = 0; i < 10; i++) expect(errorCode(await gqlFrom(client, RESET, { e: `${name('r')}@example.com` }))).toBeUndefined();
    const limited = await gqlFrom(client, RESET, { e: `${name('r')}@example.com` });
    expect([errorCode(limited), reason(limited)]).toEqual(['RATE_LIMITED', 'code_send_client']);
    expect(errorCode(await gqlFrom(freshIp(), RESET, { e: `${name('r')}@example.com` }))).toBeUndefined();
  });
});
