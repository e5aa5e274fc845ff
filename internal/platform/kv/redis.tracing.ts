/**
 * A CLIENT span per Redis command inside a trace (tracing on; redis.kv.ts wraps each connection).
 * Every ioredis command, those of MULTI/pipelines included, goes through `sendCommand` (ioredis
 * 6: Redis.sendCommand, called by Pipeline.exec for each queued command); the span ends when the
 * command's reply (or error) arrives. Commands outside a trace (the sessions:ended listener,
 * sweeps) make no spans. Keys are not recorded: they hold user and session ids.
 */
import type { Command, Redis } from 'ioredis';
import { context, failSpan, SpanKind, trace, tracer } from '../tracing/tracing.ts';

export function traceCommands(client: Redis): Redis {
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: Command, ...rest: unknown[]) => {
    if (!trace.getSpan(context.active())) return send(command, ...(rest as []));
    const operation = command.name.toUpperCase();
    const span = tracer.startSpan(`redis ${operation}`, { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'redis', 'db.operation.name': operation } });
    command.promise.then(
      () => span.end(),
      (error: unknown) => {
        failSpan(span, error);
        span.end();
      },
    );
    return send(command, ...(rest as []));
  }) as Redis['sendCommand'];
  return client;
}
