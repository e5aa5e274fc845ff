/**
 * The service client both ways: in process (local link) and over HTTP by Kubernetes DNS name,
 * resolved by a fake DNS server. AppError codes and the caller's identity survive the hop.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeDns, type FakeDns } from '../../../test/fakes/dns-server.ts';
import { TokenSigner } from '../auth/access-token.ts';
import { AppError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { runWithContext } from '../request-context.ts';
import { normalizeError, serviceClient, serviceUrl } from './client.ts';
import { resolverLookup } from './dns-lookup.ts';
import { trpcHttpHandler } from './serve.ts';
import { authedProcedure, publicProcedure, router } from './trpc.ts';

const log = createLogger({ level: 'silent' });
const tokens = new TokenSigner(new TextEncoder().encode('test-secret-that-is-long-enough-0123456789'));

const testRouter = router({
  echo: publicProcedure.input(z.object({ text: z.string().max(10) })).query(({ input, ctx }) => ({ text: input.text, requestId: ctx.requestId })),
  whoami: authedProcedure.query(({ ctx }) => ctx.viewer.username),
  fail: publicProcedure.input(z.object({ code: z.enum(['NOT_FOUND', 'RATE_LIMITED']) })).mutation(({ input }) => {
    throw new AppError(input.code, `failing with ${input.code}`, { details: { reason: 'proof_attempts' }, retryAfter: 7 });
  }),
  crash: publicProcedure.mutation(() => {
    throw new Error('secret internal detail');
  }),
});

async function expectAppError(promise: Promise<unknown>) {
  const error = await promise.then(() => undefined, normalizeError);
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

function suite(name: string, makeClient: () => ReturnType<typeof serviceClient<typeof testRouter>>) {
  describe(`service client: ${name}`, () => {
    it('calls a procedure and carries the request id', async () => {
      const client = makeClient();
      const out = await runWithContext({ requestId: 'req-42' }, () => client.echo.query({ text: 'hi' }));
      expect(out).toEqual({ text: 'hi', requestId: 'req-42' });
    });

    it('carries the caller identity', async () => {
      const client = makeClient();
      const viewer = { userId: 'u1', username: 'alice', isAdmin: false };
      const accessToken = await tokens.signAccess(viewer, 60);
      expect(await runWithContext({ requestId: 'r', viewer, accessToken }, () => client.whoami.query())).toBe('alice');
      expect((await expectAppError(runWithContext({ requestId: 'r' }, () => client.whoami.query()))).code).toBe('UNAUTHENTICATED');
    });

    it('keeps AppError codes, details and retryAfter across the call', async () => {
      const client = makeClient();
      const error = await expectAppError(client.fail.mutate({ code: 'RATE_LIMITED' }));
      expect(error).toMatchObject({ code: 'RATE_LIMITED', message: 'failing with RATE_LIMITED', retryAfter: 7, details: { reason: 'proof_attempts' } });
      expect((await expectAppError(client.fail.mutate({ code: 'NOT_FOUND' }))).code).toBe('NOT_FOUND');
    });

    it('turns invalid input into BAD_INPUT and hides internal errors', async () => {
      const client = makeClient();
      expect((await expectAppError(client.echo.query({ text: 'x'.repeat(11) }))).code).toBe('BAD_INPUT');
      const crash = await expectAppError(client.crash.mutate());
      expect(crash.code).toBe('INTERNAL');
      expect(crash.message).not.toContain('secret');
    });
  });
}

suite('in process', () => serviceClient('accounts', testRouter, { mode: 'inprocess' }, log));

let dns: FakeDns;
let server: Server;
let port = 0;
beforeAll(async () => {
  server = createServer(trpcHttpHandler(testRouter, tokens, log));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  dns = await startFakeDns({ 'accounts.stratus.svc.cluster.local': '127.0.0.1' });
});
afterAll(async () => {
  await dns.close();
  await new Promise((resolve) => server.close(resolve));
});

const k8s = () => ({ mode: 'k8s' as const, namespace: 'stratus', port, lookup: resolverLookup([dns.server]) });
suite('by Kubernetes DNS name', () => serviceClient('accounts', testRouter, k8s(), log));

describe('service discovery by DNS', () => {
  it('builds the in-cluster URL and asks DNS for it', async () => {
    expect(serviceUrl('uploads', { mode: 'k8s', namespace: 'prod', port: 8080 })).toBe('http://uploads.prod.svc.cluster.local:8080/trpc');
    // The chart names Services after the release (SERVICE_HOST_*): two releases in one namespace.
    expect(serviceUrl('uploads', { mode: 'k8s', namespace: 'prod', port: 8080, hosts: { uploads: 'blue-stratus-uploads' } })).toBe('http://blue-stratus-uploads.prod.svc.cluster.local:8080/trpc');
    expect(serviceUrl('files', { mode: 'k8s', namespace: 'prod', port: 8080, hosts: { uploads: 'x' } })).toBe('http://files.prod.svc.cluster.local:8080/trpc');
    expect(serviceUrl('files', { mode: 'k8s', namespace: 'prod', port: 9000, hosts: { files: 'files.elsewhere.example' } })).toBe('http://files.elsewhere.example:9000/trpc');
    dns.set('accounts.other.svc.cluster.local', '127.0.0.1');
    const before = dns.queries.length;
    await serviceClient('accounts', testRouter, { ...k8s(), namespace: 'other' }, log).echo.query({ text: 'dns' });
    expect(dns.queries.slice(before)).toContain('accounts.other.svc.cluster.local');
  });

  it('a service DNS does not know is UNAVAILABLE', async () => {
    const client = serviceClient('files', testRouter, k8s(), log);
    expect((await expectAppError(client.echo.query({ text: 'x' }))).code).toBe('UNAVAILABLE');
  });
});
