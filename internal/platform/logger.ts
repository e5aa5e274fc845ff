/**
 * Structured logging (pino). Secrets are redacted by key wherever they appear in a log object,
 * so a careless `log.info({ input })` cannot leak a password, code or token.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { logTraceFields } from './tracing/tracing.ts';

export type { Logger };

export const REDACTED_KEYS = [
  'password',
  'newPassword',
  'code',
  'token',
  'accessToken',
  'refreshToken',
  'authorization',
  'cookie',
  'secret',
  'secretAccessKey',
  'accessKeySecret',
  'SecretKey',
  'proofs',
];

export function createLogger(options: { level: string; name?: string }, destination?: DestinationStream): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `req.headers.${key}`]);
  return pino(
    {
      level: options.level,
      name: options.name ?? 'stratus',
      redact: { paths, censor: '[redacted]' },
      base: { pid: process.pid },
      // trace_id/span_id of the active span (tracing on), so a line leads to its trace.
      mixin: logTraceFields,
    },
    destination,
  );
}
