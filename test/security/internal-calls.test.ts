/**
 * Internal service calls are authenticated (issue 24 item 5): a service's tRPC endpoint answers
 * only callers that present the shared internal token (INTERNAL_TOKEN, from the chart's Secret),
 * so a pod other than the gateway can neither call a service as a client nor set
 * `x-stratus-client-ip` to pick the address the per-client limits count. The token is compared in
 * constant time; its absence or a wrong one is 403 FORBIDDEN `internal_caller_refused`, before
 * any procedure runs or any header is believed.
 */
import { createServer, request, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenSigner } from '../../internal/platform/auth/access-token.ts';
import { loadConfig } from '../../internal/platform/config.ts';
import { createLogger } from '../../internal/platform/logger.ts';
import { httpClient, normalizeError } from '../../internal/platform/rpc/client.ts';
import { INTERNAL_TOKEN_HEADER, trpcHttpHandler } from '../../internal/platform/rpc/serve.ts';
import { publicProcedure, router } from '../../internal/platform/rpc/trpc.ts';

const log = createLogger({ level: 'silent' });
const tokens = new TokenSigner(new TextEncoder().encode('test-secret-that-is-long-enough-0123456789'));
const INTERNAL = 'i'.repeat(40);
let calls = 0;
const testRouter = router({
  whereFrom: publicProcedure.query(({ ctx }) => {
    calls += 1;
    return { ip: ctx.ip ?? null };
  }),
});

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer(trpcHttpHandler(testRouter, tokens, log, { internalToken: INTERNAL }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function raw(headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/trpc/whereFrom`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('internal tRPC calls need the internal token', () => {
  it('refuses a call without the token, and one with a wrong token, before the procedure runs', async () => {
    const before = calls;
    const attempts: Record<string, string>[] = [{}, { [INTERNAL_TOKEN_HEADER]: 'x'.repeat(40) }, { [INTERNAL_TOKEN_HEADER]: INTERNAL.slice(1) }, { 'x-stratus-client-ip': '203.0.113.9' }];
    for (const headers of attempts) {
      const answer = await raw(headers);
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { data: { appCode: 'FORBIDDEN', details: { reason: 'internal_caller_refused' } } } });
    }
    expect(calls).toBe(before);
  });

  it('the typed client without the token gets FORBIDDEN; with it the call runs and its client address is believed', async () => {
    const anonymous = httpClient<typeof testRouter>(`${base}/trpc`);
    const error = await anonymous.whereFrom.query().then(() => undefined, normalizeError);
    expect(error?.code).toBe('FORBIDDEN');
    expect(error?.details).toMatchObject({ reason: 'internal_caller_refused' });
    const gateway = httpClient<typeof testRouter>(`${base}/trpc`, undefined, INTERNAL);
    expect(await gateway.whereFrom.query()).toEqual({ ip: '127.0.0.1' });
    const spoofed = await raw({ [INTERNAL_TOKEN_HEADER]: INTERNAL, 'x-stratus-client-ip': '203.0.113.9' });
    expect(spoofed.status).toBe(200);
    expect(spoofed.body).toContain('203.0.113.9');
  });

  it('is required in production with Kubernetes discovery, and at least 32 characters', () => {
    const base = { NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(40), SERVICE_DISCOVERY: 'k8s' };
    expect(() => loadConfig(base)).toThrow(/INTERNAL_TOKEN/);
    expect(() => loadConfig({ ...base, INTERNAL_TOKEN: 'short' })).toThrow(/INTERNAL_TOKEN/);
    expect(loadConfig({ ...base, INTERNAL_TOKEN: INTERNAL }).discovery).toMatchObject({ mode: 'k8s', internalToken: INTERNAL });
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(40) }).discovery.mode).toBe('inprocess');
  });
});
