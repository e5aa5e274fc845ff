/**
 * Tracing at the tRPC hop over HTTP, off and on, in one process (this file runs isolated: tracing
 * is process-wide). Off (no OTEL_EXPORTER_OTLP_ENDPOINT): nothing is exported and a client's
 * `traceparent` reaches the service unchanged. On: the call's CLIENT span is the child of the
 * client's span, the service's SERVER span the child of that, and a log line written inside the
 * procedure carries the trace and span ids.
 */
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KIND, startOtlpReceiver, type OtlpReceiver } from '../../../test/support/otlp-receiver.ts';
import { TokenSigner } from '../auth/access-token.ts';
import { loadConfig } from '../config.ts';
import { createLogger, type Logger } from '../logger.ts';
import { currentContext, runWithContext } from '../request-context.ts';
import { httpClient, localClient } from '../rpc/client.ts';
import { trpcHttpHandler } from '../rpc/serve.ts';
import { trpcTracingLink } from '../rpc/tracing.link.ts';
import { publicProcedure, router } from '../rpc/trpc.ts';
import { context, extractTrace, startTracing, trace, tracingEnabled } from './tracing.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;

const lines: Record<string, unknown>[] = [];
const log: Logger = createLogger(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  }),
);

const echo = router({
  seen: publicProcedure.input(z.object({ note: z.string() })).query(({ input }) => {
    log.info({ note: input.note }, 'inside the procedure');
    const span = trace.getSpan(context.active())?.spanContext();
    return { traceparent: currentContext()?.traceparent ?? null, traceId: span?.traceId ?? null, spanId: span?.spanId ?? null };
  }),
});
type Echo = typeof echo;

let server: Server;
let url: string;
let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  server = createServer(trpcHttpHandler(echo, new TokenSigner(new TextEncoder().encode('x'.repeat(40))), log));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/trpc`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await receiver.close();
});

describe('tracing', () => {
  it('off without OTEL_EXPORTER_OTLP_ENDPOINT: nothing exported, the client traceparent passes through unchanged', async () => {
    const config = loadConfig({ DATA_DIR: '/tmp/stratus-tracing-test', JWT_SECRET: 'x'.repeat(40), OTEL_SERVICE_NAME: 'unit' });
    expect(config.tracing).toBeUndefined();
    const tracing = await startTracing(config.tracing);
    expect(tracingEnabled()).toBe(false);
    const client = httpClient<Echo>(url, undefined, undefined, { service: 'files', links: [trpcTracingLink] });
    const got = await runWithContext({ requestId: 'r1', traceparent: TRACEPARENT }, () => client.seen.query({ note: 'off' }));
    // Forwarded as it came; no span of ours in between.
    expect(got).toEqual({ traceparent: TRACEPARENT, traceId: null, spanId: null });
    // A malformed header is dropped rather than passed on.
    const bad = await runWithContext({ requestId: 'r2', traceparent: 'zz-not-a-trace' }, () => client.seen.query({ note: 'bad' }));
    expect(bad.traceparent).toBeNull();
    expect(lines.find((l) => l.note === 'off')).not.toHaveProperty('trace_id');
    await tracing.shutdown();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.requests).toBe(0);
  });

  it('on: client span → service span in the client trace, exported over OTLP/HTTP, ids in the log line', async () => {
    const config = loadConfig({ DATA_DIR: '/tmp/stratus-tracing-test', JWT_SECRET: 'x'.repeat(40), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'unit', OTEL_BSP_SCHEDULE_DELAY: '50' });
    expect(config.tracing).toMatchObject({ endpoint: receiver.url, serviceName: 'unit', sampleRatio: 1 });
    const tracing = await startTracing(config.tracing);
    expect(tracingEnabled()).toBe(true);
    const client = httpClient<Echo>(url, undefined, undefined, { service: 'files', links: [trpcTracingLink] });
    const got = await context.with(extractTrace({ traceparent: TRACEPARENT }), () => runWithContext({ requestId: 'r3' }, () => client.seen.query({ note: 'on' })));
    // In process (the all-in-one server): the same two spans, no HTTP in between.
    const local = localClient<Echo>(echo, log, { service: 'accounts', links: [trpcTracingLink] });
    const inProcess = await context.with(extractTrace({ traceparent: TRACEPARENT }), () => runWithContext({ requestId: 'r4' }, () => local.seen.query({ note: 'local' })));
    await tracing.shutdown();
    const clientSpan = receiver.spans.find((s) => s.kind === KIND.CLIENT && s.name === 'files.seen');
    const serverSpan = receiver.spans.find((s) => s.kind === KIND.SERVER && s.parentSpanId === clientSpan?.spanId);
    const localClientSpan = receiver.spans.find((s) => s.kind === KIND.CLIENT && s.name === 'accounts.seen');
    expect(localClientSpan).toMatchObject({ traceId: TRACE_ID, parentSpanId: CLIENT_SPAN, attributes: { 'stratus.rpc.transport': 'inprocess' } });
    expect(inProcess).toEqual({ traceparent: null, traceId: TRACE_ID, spanId: receiver.spans.find((s) => s.kind === KIND.SERVER && s.parentSpanId === localClientSpan?.spanId)?.spanId });
    expect(clientSpan).toMatchObject({ service: 'unit', traceId: TRACE_ID, parentSpanId: CLIENT_SPAN, name: 'files.seen', attributes: { 'rpc.system': 'trpc' } });
    expect(serverSpan).toMatchObject({ traceId: TRACE_ID, parentSpanId: clientSpan?.spanId, name: 'seen' });
    expect(got).toEqual({ traceparent: null, traceId: TRACE_ID, spanId: serverSpan?.spanId });
    expect(lines.find((l) => l.note === 'on')).toMatchObject({ trace_id: TRACE_ID, span_id: serverSpan?.spanId });
  });
});
