/**
 * The tRPC client's metrics link both ways (in process, and over HTTP to a real tRPC server):
 * stratus_trpc_client_duration_seconds{procedure,transport,outcome} per query and mutation, with
 * the procedure named `<service>.<path>` (nested routers included), and nothing for a client
 * built without the process's links.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TokenSigner } from '../auth/access-token.ts';
import { AppError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { createMetrics } from '../metrics.ts';
import { httpClient, localClient } from './client.ts';
import { trpcMetricsLink } from './metrics.link.ts';
import { trpcHttpHandler } from './serve.ts';
import { publicProcedure, router } from './trpc.ts';

const log = createLogger({ level: 'silent' });
const tokens = new TokenSigner(new TextEncoder().encode('test-secret-that-is-long-enough-0123456789'));
const testRouter = router({
  echo: publicProcedure.input(z.object({ text: z.string() })).query(({ input }) => input.text),
  shares: router({
    fail: publicProcedure.mutation(() => {
      throw new AppError('NOT_FOUND', 'no such share');
    }),
  }),
});

let server: Server;
let url = '';
beforeAll(async () => {
  server = createServer(trpcHttpHandler(testRouter, tokens, log));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/trpc`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

async function counts(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const json = await metrics.trpcClient.get();
  return Object.fromEntries(
    json.values.filter((v) => v.metricName === 'stratus_trpc_client_duration_seconds_count').map((v) => [`${v.labels.procedure} ${v.labels.transport} ${v.labels.outcome}`, v.value]),
  );
}

describe('tRPC client metrics link', () => {
  it.each(['inprocess', 'http'] as const)('times each call %s by procedure and outcome', async (transport) => {
    const metrics = createMetrics();
    const observed = { service: 'files' as const, links: [trpcMetricsLink(metrics.trpcClient)] };
    const client = transport === 'http' ? httpClient<typeof testRouter>(url, undefined, undefined, observed) : localClient(testRouter, log, observed);
    expect(await client.echo.query({ text: 'a' })).toBe('a');
    expect(await client.echo.query({ text: 'b' })).toBe('b');
    await expect(client.shares.fail.mutate()).rejects.toThrow('no such share');
    expect(await counts(metrics)).toEqual({ [`files.echo ${transport} ok`]: 2, [`files.shares.fail ${transport} error`]: 1 });
  });

  it('records nothing for a client built without links', async () => {
    const metrics = createMetrics();
    expect(await localClient(testRouter, log).echo.query({ text: 'x' })).toBe('x');
    expect(await counts(metrics)).toEqual({});
  });
});
