/**
 * How the command line fails: bad usage (exit 2), Ctrl-C at a prompt (exit 130), and every other
 * error (exit 1) described with its code and, when the server gave one, its stable
 * `details.reason` — as text (`error: CONFLICT: … (reason: name_taken)`) or, under --json, as
 * `{"error":{"code","message","reason"}}`, both on stderr.
 */
export class UsageError extends Error {}

/** Ctrl-C at a prompt, where the terminal's raw mode turns it into a key instead of SIGINT. */
export class Interrupted extends Error {}

export interface ErrorView {
  code?: string;
  message: string;
  reason?: string;
}

export function errorView(error: unknown): ErrorView {
  if (!(error instanceof Error)) return { message: String(error) };
  const { code, details } = error as { code?: unknown; details?: { reason?: unknown } };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    message: error.message,
    ...(typeof details?.reason === 'string' ? { reason: details.reason } : {}),
  };
}

export function formatError(view: ErrorView): string {
  return `error: ${view.code ? `${view.code}: ` : ''}${view.message}${view.reason ? ` (reason: ${view.reason})` : ''}`;
}
