/**
 * graphql-ws connections signed in with a personal access token (ws-sessions.ts): the access JWT
 * the token was exchanged for is renewed before it expires, so the socket lives as long as the
 * token; a refused renewal (revoked, expired, another person) closes it with 4403; a token that
 * ends before the next renewal closes the socket when it ends, without renewing in a loop.
 */
import { describe, expect, it } from 'vitest';
import { TokenSigner } from '../../internal/platform/auth/access-token.ts';
import type { Identity } from './context.ts';
import { WsSessions } from './ws-sessions.ts';

const signer = new TokenSigner(new TextEncoder().encode('a-secret-of-at-least-thirty-two-bytes!!'));
const alice = { userId: 'u-alice', username: 'alice', isAdmin: false, sessionId: 'pat:t1', accessTokenId: 't1', scopes: ['READ'] as const };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function socket() {
  const closes: number[] = [];
  return { closes, close: (code: number) => void closes.push(code) };
}

/** An identity whose access JWT expires in `ms` (30 s of renewal lead included), renewed by `renew`. */
const expiringIn = (ms: number, renew?: () => Promise<Identity>): Identity => ({ viewer: alice, accessToken: 'jwt-0', expiresAt: Date.now() + 30_000 + ms, ...(renew ? { renew } : {}) });

describe('graphql-ws connections of personal access tokens', () => {
  it('renew their access token before it expires and stay open; operations under way take the new one', async () => {
    let renewals = 0;
    const renew = async (): Promise<Identity> => {
      renewals++;
      return { viewer: alice, accessToken: await signer.signAccess(alice, 900), expiresAt: Date.now() + 900_000, renew };
    };
    const s = socket();
    const conn = new WsSessions(signer).open(s, expiringIn(20, renew));
    const request = { requestId: 'op1' };
    conn.operations.set('1', request);
    await sleep(80);
    expect([renewals, s.closes]).toEqual([1, []]);
    expect(conn.identity.accessToken).not.toBe('jwt-0');
    expect(request).toMatchObject({ accessToken: conn.identity.accessToken, viewer: alice });
    conn.dispose();
  });

  it('close with 4403 when the renewal is refused, or names another person', async () => {
    for (const renew of [async (): Promise<Identity> => Promise.reject(new Error('revoked')), async (): Promise<Identity> => ({ viewer: { ...alice, userId: 'u-bob' }, accessToken: 'x', expiresAt: Date.now() + 900_000 })]) {
      const s = socket();
      new WsSessions(signer).open(s, expiringIn(10, renew));
      await sleep(60);
      expect(s.closes).toEqual([4403]);
    }
  });

  it('a token ending before the next renewal is not renewed in a loop: the socket closes when it ends', async () => {
    let renewals = 0;
    const renew = async (): Promise<Identity> => {
      renewals++;
      return { viewer: alice, accessToken: 'jwt-short', expiresAt: Date.now() + 50, renew };
    };
    const s = socket();
    new WsSessions(signer).open(s, expiringIn(0, renew));
    await sleep(150);
    expect(renewals).toBe(1);
    expect(s.closes).toEqual([4403]);
  });

  it('a session connection (no renew) closes when its token expires, as before', async () => {
    const s = socket();
    new WsSessions(signer).open(s, { viewer: alice, accessToken: 'jwt', expiresAt: Date.now() + 20 });
    await sleep(60);
    expect(s.closes).toEqual([4403]);
  });
});
