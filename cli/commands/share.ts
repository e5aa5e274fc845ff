/**
 * `stratus share PATH [--password-stdin] [--expires WHEN] [--max-downloads N]`: a share link;
 * prints its URL (one line, for `$(stratus share ...)`). WHEN is a duration from now (`30m`,
 * `12h`, `7d`, `2w`) or an ISO 8601 date or date-time (`2027-01-31`, `2027-01-31T12:00:00Z`).
 */
import { connect } from '../lib/config.ts';
import { shareItem } from '../lib/drive.ts';
import { readStdinLine } from '../lib/prompt.ts';
import { intOption, onePositional, out, outJson, parse, UsageError, type Command } from './args.ts';

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function expiresOption(value: string | undefined, now = Date.now()): Date | undefined {
  if (value === undefined) return undefined;
  const duration = /^(\d+)\s*([mhdw])$/i.exec(value.trim());
  if (duration?.[1] && duration[2]) return new Date(now + Number(duration[1]) * (UNIT_MS[duration[2].toLowerCase()] ?? 0));
  const at = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim()) ? Date.parse(value.trim()) : NaN;
  if (Number.isNaN(at)) throw new UsageError(`--expires wants a duration like 7d, 12h, 30m, 2w or an ISO date like 2027-01-31T12:00:00Z, not "${value}"`);
  return new Date(at);
}

export const share: Command = {
  usage: 'stratus share PATH [--password-stdin] [--expires 7d|DATE] [--max-downloads N] [--json] [--url URL]',
  async run(argv) {
    const { values, positionals } = parse(argv, {
      'password-stdin': { type: 'boolean' },
      expires: { type: 'string' },
      'max-downloads': { type: 'string' },
    });
    const remote = onePositional(positionals, 'PATH');
    const expiresAt = expiresOption(values.expires);
    const maxDownloads = intOption('max-downloads', values['max-downloads'], 1, 1_000_000_000);
    const password = values['password-stdin'] ? await readStdinLine('--password-stdin') : undefined;
    const api = await connect(values.url);
    const link = await shareItem(api, remote, {
      ...(password !== undefined ? { password } : {}),
      ...(expiresAt ? { expiresAt } : {}),
      ...(maxDownloads !== undefined ? { maxDownloads } : {}),
    });
    if (values.json) outJson(link);
    else out(link.url);
  },
};
