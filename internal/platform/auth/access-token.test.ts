import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { MemoryKeyValueStore, MemoryPubSub } from '../kv/memory.kv.ts';
import { TokenSigner, bearerToken } from './access-token.ts';
import { SessionRevocations } from './session-revocations.ts';

const secret = new TextEncoder().encode('a-secret-of-at-least-thirty-two-bytes!!');
const viewer = { userId: 'u1', username: 'alice', isAdmin: false };

async function reason(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(AppError.is(error, 'UNAUTHENTICATED')).toBe(true);
  return (error as AppError).details?.reason as string | undefined;
}

describe('access tokens', () => {
  it('round-trips a viewer', async () => {
    const signer = new TokenSigner(secret);
    expect(await signer.verifyAccess(await signer.signAccess(viewer, 900))).toEqual({ ...viewer, sessionId: expect.any(String) });
    expect(await signer.verifyAccess(await signer.signAccess({ ...viewer, sessionId: 's1' }, 900))).toEqual({ ...viewer, sessionId: 's1' });
  });

  it('refuses a token without exp or without sid (RFC 7519 §4.1.4: exp is optional there, required here)', async () => {
    const signer = new TokenSigner(secret);
    const noExp = await new SignJWT({ typ: 'access', usr: 'alice', sid: 's1' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('stratus').setSubject('u1').sign(secret);
    expect(await reason(signer.verifyAccess(noExp))).toBe('invalid');
    const noSid = await new SignJWT({ typ: 'access', usr: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('stratus').setSubject('u1').setExpirationTime('1h').sign(secret);
    expect(await reason(signer.verifyAccess(noSid))).toBe('invalid');
  });

  it('refuses the tokens of an ended login at once, and only those', async () => {
    const kv = new MemoryKeyValueStore();
    const pubsub = new MemoryPubSub();
    const sessions = new SessionRevocations(kv, pubsub);
    const signer = new TokenSigner(secret, Date.now, sessions);
    const ended: string[][] = [];
    await sessions.onEnded((sids) => ended.push(sids));
    const one = await signer.signAccess({ ...viewer, sessionId: 'login-1' }, 900);
    const two = await signer.signAccess({ ...viewer, sessionId: 'login-2' }, 900);
    await sessions.end(['login-1']);
    expect(await reason(signer.verifyAccess(one))).toBe('session_ended');
    expect((await signer.verifyAccess(two)).sessionId).toBe('login-2');
    expect(ended).toEqual([['login-1']]);
    await Promise.all([kv.close(), pubsub.close()]);
  });

  it('verifies a token again from its cache, yet refuses it once expired or once its login ended', async () => {
    let now = Date.now();
    const kv = new MemoryKeyValueStore();
    const pubsub = new MemoryPubSub();
    const sessions = new SessionRevocations(kv, pubsub);
    const signer = new TokenSigner(secret, () => now, sessions);
    const token = await signer.signAccess({ ...viewer, sessionId: 'login-3' }, 60);
    const other = await signer.signAccess({ ...viewer, sessionId: 'login-4' }, 900);
    expect((await signer.verifyAccess(token)).sessionId).toBe('login-3');
    expect((await signer.verifyAccess(other)).sessionId).toBe('login-4');
    // The same text, seen before: still its own viewer; a forged copy is not the same text.
    expect((await signer.verifyAccess(token)).sessionId).toBe('login-3');
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString());
    expect(await reason(signer.verifyAccess([h, Buffer.from(JSON.stringify({ ...payload, adm: true })).toString('base64url'), s].join('.')))).toBe('invalid');
    await sessions.end(['login-4']);
    expect(await reason(signer.verifyAccess(other))).toBe('session_ended');
    now += 61_000;
    expect(await reason(signer.verifyAccess(token))).toBe('expired');
    expect(await reason(signer.verifyAccess(token))).toBe('expired');
    await Promise.all([kv.close(), pubsub.close()]);
  });

  it('clamps an access token to 15 minutes', async () => {
    const signer = new TokenSigner(secret);
    const { expiresAt } = await signer.verifyAccessToken(await signer.signAccess(viewer, 86_400));
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(900_000);
  });

  it('refuses a token signed with another key', async () => {
    const other = new TokenSigner(new TextEncoder().encode('another-secret-of-at-least-32-bytes!!!'));
    expect(await reason(new TokenSigner(secret).verifyAccess(await other.signAccess(viewer, 900)))).toBe('invalid');
  });

  it('refuses alg: none', async () => {
    const unsigned = new UnsecuredJWT({ typ: 'access', usr: 'alice', adm: true }).setIssuer('stratus').setSubject('u1').setExpirationTime('1h').encode();
    expect(await reason(new TokenSigner(secret).verifyAccess(unsigned))).toBe('invalid');
  });

  it('refuses a forged payload (signature no longer matches)', async () => {
    const token = await new TokenSigner(secret).signAccess(viewer, 900);
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString());
    payload.adm = true;
    const forged = [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
    expect(await reason(new TokenSigner(secret).verifyAccess(forged))).toBe('invalid');
  });

  it('refuses an expired token, saying so', async () => {
    let now = Date.now();
    const signer = new TokenSigner(secret, () => now);
    const token = await signer.signAccess(viewer, 900);
    now += 901_000;
    expect(await reason(signer.verifyAccess(token))).toBe('expired');
  });

  it('refuses a token of another type or algorithm', async () => {
    const signer = new TokenSigner(secret);
    const share = await signer.sign('share', 'share-1', {}, 60);
    expect(await reason(signer.verifyAccess(share))).toBe('invalid');
    const hs512 = await new SignJWT({ typ: 'access' }).setProtectedHeader({ alg: 'HS512' }).setIssuer('stratus').setSubject('u1').setExpirationTime('1h').sign(secret);
    expect(await reason(signer.verifyAccess(hs512))).toBe('invalid');
    expect(await reason(signer.verifyAccess('garbage'))).toBe('invalid');
  });

  it('parses Bearer headers strictly', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer  abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
