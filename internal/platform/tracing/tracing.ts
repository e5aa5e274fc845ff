/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (config.ts). Spans are
 * opened explicitly at our own seams (the gateway's HTTP entry, tRPC links and procedures, MikroORM
 * statements, Redis commands, RabbitMQ publish/consume, object-store calls) with the API only;
 * `@opentelemetry/sdk-node` supplies the provider, the OTLP/HTTP (JSON) exporter, the W3C
 * `traceparent` propagator and the AsyncLocalStorage context manager. Monkey-patching
 * auto-instrumentations are not used: under ESM they need a loader hook and break quietly.
 *
 * Off, nothing of the SDK is loaded, the API's tracer is the no-op one and the seams skip their
 * wrappers; a client's `traceparent`/`tracestate` is still carried to the services and queued
 * jobs unchanged (in the request context, see `carryTrace`), so a traced process further on
 * joins the client's trace.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { currentContext, type RequestContext } from '../request-context.ts';

export interface TracingOptions {
  /** OTLP/HTTP base URL; spans are posted to `<endpoint>/v1/traces`. */
  endpoint: string;
  serviceName: string;
  /** Share of new root traces sampled (0–1); a parent's decision wins. */
  sampleRatio: number;
  /** Batch export delay (ms). */
  exportDelayMs: number;
}

export interface Tracing {
  /** Sends the spans still buffered and stops the provider. */
  shutdown(): Promise<void>;
}

export { SpanKind, SpanStatusCode };

/** The one tracer: a proxy that becomes the SDK's once `startTracing` registered a provider. */
export const tracer = trace.getTracer('stratus');

let enabled = false;

/** Whether this process records spans (seams that cost something check this first). */
export function tracingEnabled(): boolean {
  return enabled;
}

export async function startTracing(options: TracingOptions | undefined): Promise<Tracing> {
  if (!options) return { shutdown: async () => undefined };
  // Loaded only when on: an untraced process carries none of the SDK.
  const [{ NodeSDK }, { OTLPTraceExporter }, { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler }, { W3CTraceContextPropagator }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
    ]);
  const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const sdk = new NodeSDK({
    // Everything from our options, nothing from OTEL_* variables the SDK would read by itself.
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    autoDetectResources: false,
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: options.exportDelayMs })],
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  enabled = true;
  return {
    shutdown: async () => {
      enabled = false;
      await sdk.shutdown();
    },
  };
}

/**
 * Runs `fn` in a span that is the active one meanwhile; a throw or rejection marks it failed.
 * Off: just `fn()`.
 */
export function inSpan<T>(name: string, kind: SpanKind, attributes: Attributes, fn: (span?: Span) => Promise<T>, parent?: Context): Promise<T> {
  if (!enabled) return fn();
  return tracer.startActiveSpan(name, { kind, attributes }, parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Like `inSpan`, but only inside a trace: background work (sweeps, probes) makes no root spans of its own. */
export function inChildSpan<T>(name: string, kind: SpanKind, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  if (!enabled || !trace.getSpan(context.active())) return fn();
  return inSpan(name, kind, attributes, fn);
}

export function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

type Carrier = Record<string, unknown>;
const getter = {
  keys: (carrier: Carrier) => Object.keys(carrier),
  get: (carrier: Carrier, key: string) => {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    if (Buffer.isBuffer(value)) return value.toString('utf8'); // AMQP header values may arrive as bytes
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0] as string;
    return undefined;
  },
};

/** The caller's trace context from headers (HTTP or AMQP); the root context when there is none. */
export function extractTrace(headers: Carrier | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, getter) : ROOT_CONTEXT;
}

/**
 * Writes the trace context to outgoing headers: the active span's when on; off, the client's own
 * `traceparent`/`tracestate` as they came in (carried in the request context).
 */
export function injectTrace(headers: Record<string, unknown>, rc: RequestContext | undefined = currentContext()): void {
  if (enabled) {
    propagation.inject(context.active(), headers);
    return;
  }
  if (rc?.traceparent) headers.traceparent = rc.traceparent;
  if (rc?.tracestate) headers.tracestate = rc.tracestate;
}

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

/** Off: the incoming `traceparent` (when well formed) and `tracestate`, to be carried on unchanged. */
export function carryTrace(headers: Carrier | undefined): Pick<RequestContext, 'traceparent' | 'tracestate'> {
  const traceparent = headers ? getter.get(headers, 'traceparent') : undefined;
  if (!traceparent || !TRACEPARENT.test(traceparent)) return {};
  const tracestate = getter.get(headers ?? {}, 'tracestate');
  return { traceparent, ...(tracestate && tracestate.length <= 512 ? { tracestate } : {}) };
}

/**
 * `trace_id`/`span_id` of the active span for log lines (logger.ts); nothing outside a span.
 * A fresh object every time: pino merges the line's own fields into what the mixin returns.
 */
export function logTraceFields(): { trace_id?: string; span_id?: string } {
  if (!enabled) return {};
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

export { context, trace };
