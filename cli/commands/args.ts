/**
 * What every command shares: the argument parser (node:util parseArgs, strict, so a typo is a
 * usage error and not a silently ignored flag), usage errors (exit 2), and how output is written.
 * cli/ writes with process.stdout/stderr: stdout carries only result lines, for scripts.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../lib/cli.errors.ts';

export { UsageError };

export interface Command {
  usage: string;
  run(argv: string[], context: Context): Promise<void>;
}

export interface Context {
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export const out = (line: string) => process.stdout.write(`${line}\n`);
export const note = (line: string) => process.stderr.write(`${line}\n`);
export const outJson = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

const COMMON = {
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  /** Results on stdout as one JSON document, errors on stderr as `{"error": ...}`, for scripts. */
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with --url/--help/--json added; parser errors become usage errors. */
export function parse<const O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

const UNITS: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

/** A byte count: `8388608`, `8M`, `8MiB` (binary units, as chunk sizes are multiples of 4 MiB). */
export function bytesOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = UNITS[(match?.[2] ?? '').toLowerCase()];
  if (!match?.[1] || unit === undefined || Number(match[1]) <= 0) throw new UsageError(`--${name} wants a positive byte count like 8388608 or 8MiB, not "${value}"`);
  return Number(match[1]) * unit;
}

export function intOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} wants a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

export function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1 || !positionals[0]) throw new UsageError(`expected one ${what}, got ${positionals.length}`);
  return positionals[0];
}
