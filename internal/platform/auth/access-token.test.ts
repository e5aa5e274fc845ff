import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { TokenSigner, bearerToken } from './access-token.ts';

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
    expect(await signer.verifyAccess(await signer.signAccess(viewer, 900))).toEqual(viewer);
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
