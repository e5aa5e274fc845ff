/**
 * The gateway's one authenticator (auth.ts) without services: Authorization header parsing
 * (Bearer, and Basic per RFC 7617 where allowed), session JWTs verified locally with every scope,
 * personal access tokens handed to the accounts service (a fake here) and acted on through the JWT
 * it returns, the request context taking the viewer, and the scope check.
 */
import { describe, expect, it } from 'vitest';
import { TokenSigner } from '../../internal/platform/auth/access-token.ts';
import { AppError } from '../../internal/platform/errors.ts';
import { currentContext, runWithContext, type RequestContext, type Viewer } from '../../internal/platform/request-context.ts';
import { authenticateRequest, credentialOf, requireScope, type AuthDeps } from './auth.ts';

const signer = new TokenSigner(new TextEncoder().encode('a-secret-of-at-least-thirty-two-bytes!!'));
const PAT = `stp_${'A'.repeat(43)}`;
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Deps whose accounts service knows one token (PAT) of alice, READ only, and records its calls. */
function deps(calls: unknown[] = []): AuthDeps {
  const viewer: Viewer = { userId: 'u-alice', username: 'alice', isAdmin: false, sessionId: 'pat:t1', accessTokenId: 't1', scopes: ['READ'] };
  const authenticate = {
    mutate: async (input: { token: string; login?: string }) => {
      calls.push(input);
      if (input.token !== PAT || (input.login !== undefined && input.login !== 'alice')) {
        throw new AppError('UNAUTHENTICATED', 'Invalid access token', { details: { reason: 'invalid' } });
      }
      return { viewer, accessToken: await signer.signAccess(viewer, 900), expiresAt: Date.now() + 900_000 };
    },
  };
  return { tokens: signer, clients: { accounts: { accessTokens: { authenticate } } } as unknown as AuthDeps['clients'] };
}

async function refusal(promise: Promise<unknown>): Promise<[string, unknown]> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return [error.code, error.details?.reason];
}

describe('credentialOf', () => {
  it('reads Bearer always and Basic only where allowed', () => {
    expect(credentialOf(`Bearer ${PAT}`, false)).toEqual({ kind: 'bearer', token: PAT });
    expect(credentialOf(`bearer   ${PAT} `, true)).toEqual({ kind: 'bearer', token: PAT });
    expect(credentialOf(`Basic ${b64(`alice:${PAT}`)}`, false)).toBeUndefined();
    expect(credentialOf(`Basic ${b64(`alice:${PAT}`)}`, true)).toEqual({ kind: 'basic', login: 'alice', token: PAT });
  });

  it('Basic per RFC 7617: the user id ends at the first colon, the password may hold colons', () => {
    expect(credentialOf(`Basic ${b64('alice@example.com:a:b:c')}`, true)).toEqual({ kind: 'basic', login: 'alice@example.com', token: 'a:b:c' });
  });

  it('refuses what is not a credential: none, no colon, empty user or password, not base64, other schemes', () => {
    for (const header of [undefined, '', 'Basic', `Basic ${b64('no-colon')}`, `Basic ${b64(':pw')}`, `Basic ${b64('alice:')}`, 'Basic !!!', 'Digest x', 'Bearer']) {
      expect(credentialOf(header, true), String(header)).toBeUndefined();
    }
  });
});

describe('authenticateRequest', () => {
  it('a session JWT: verified here, every scope, and the request context takes the viewer', async () => {
    const jwt = await signer.signAccess({ userId: 'u-bob', username: 'bob', isAdmin: false, sessionId: 's1' }, 900);
    const calls: unknown[] = [];
    const rc: RequestContext = { requestId: 'r1' };
    const auth = await runWithContext(rc, () => authenticateRequest(deps(calls), { headers: { authorization: `Bearer ${jwt}` } }, { basic: false }));
    expect(auth).toMatchObject({ viewer: { userId: 'u-bob', sessionId: 's1' }, scopes: ['READ', 'WRITE'], via: 'session', accessToken: jwt });
    expect(rc).toMatchObject({ viewer: { userId: 'u-bob' }, accessToken: jwt });
    expect(calls).toEqual([]);
  });

  it('a personal access token: checked by the accounts service, acted on through the JWT it returns', async () => {
    const calls: unknown[] = [];
    const rc: RequestContext = { requestId: 'r2' };
    const auth = await runWithContext(rc, () => authenticateRequest(deps(calls), { headers: { authorization: `Bearer ${PAT}` } }, { basic: false }));
    expect(calls).toEqual([{ token: PAT }]);
    expect(auth).toMatchObject({ viewer: { userId: 'u-alice', accessTokenId: 't1' }, scopes: ['READ'], via: 'token' });
    expect(auth.accessToken).not.toBe(PAT);
    // The forwarded JWT names the token and its scopes, for services in other processes.
    expect(await signer.verifyAccess(auth.accessToken)).toMatchObject({ userId: 'u-alice', accessTokenId: 't1', scopes: ['READ'], sessionId: 'pat:t1' });
    expect(rc.accessToken).toBe(auth.accessToken);
  });

  it('Basic (WebDAV): the user name goes with the token; refusals are UNAUTHENTICATED', async () => {
    const calls: unknown[] = [];
    const basic = (user: string, token: string) => ({ headers: { authorization: `Basic ${b64(`${user}:${token}`)}` } });
    expect((await authenticateRequest(deps(calls), basic('alice', PAT), { basic: true })).viewer.userId).toBe('u-alice');
    expect(calls).toEqual([{ token: PAT, login: 'alice' }]);
    expect(await refusal(authenticateRequest(deps(), basic('bob', PAT), { basic: true }))).toEqual(['UNAUTHENTICATED', 'invalid']);
    expect(await refusal(authenticateRequest(deps(), basic('alice', PAT), { basic: false }))).toEqual(['UNAUTHENTICATED', undefined]);
    expect(await refusal(authenticateRequest(deps(), { headers: {} }, { basic: true }))).toEqual(['UNAUTHENTICATED', undefined]);
  });

  it('an expired or forged JWT is refused; no request context is needed', async () => {
    expect(currentContext()).toBeUndefined();
    const old = new TokenSigner(new TextEncoder().encode('a-secret-of-at-least-thirty-two-bytes!!'), () => Date.now() - 3_600_000);
    const expired = await old.signAccess({ userId: 'u', username: 'u', isAdmin: false }, 60);
    expect(await refusal(authenticateRequest(deps(), { headers: { authorization: `Bearer ${expired}` } }, { basic: false }))).toEqual(['UNAUTHENTICATED', 'expired']);
    expect(await refusal(authenticateRequest(deps(), { headers: { authorization: 'Bearer x.y.z' } }, { basic: false }))).toEqual(['UNAUTHENTICATED', 'invalid']);
  });
});

describe('requireScope', () => {
  it('FORBIDDEN token_scope without the scope; a session has every scope', () => {
    expect(() => requireScope({ scopes: ['READ'] }, 'READ')).not.toThrow();
    expect(() => requireScope({ scopes: ['READ', 'WRITE'] }, 'WRITE')).not.toThrow();
    const error = (() => {
      try {
        requireScope({ scopes: ['READ'] }, 'WRITE');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(AppError.is(error, 'FORBIDDEN') && error.details?.reason).toBe('token_scope');
  });
});
