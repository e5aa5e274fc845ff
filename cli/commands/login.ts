/**
 * `stratus login [--username U] [--password-stdin]`: saves the token pair for this server in
 * config.json (0600). The password, in order of preference:
 * - typed at a hidden prompt when stdin is a terminal (nothing in `ps`, history or scrollback);
 * - `--password-stdin`: the first line of a pipe, like `docker login` (refused on a terminal);
 * - STRATUS_PASSWORD in the environment;
 * - `--password P` (kept for old scripts; warns: any local user can read it in `ps`).
 */
import { StratusApi } from '../lib/api.ts';
import { saveCredentials, serverUrl } from '../lib/config.ts';
import { LoginDocument } from '../lib/graphql.generated.ts';
import { isTerminal, readHidden, readStdinLine, readVisible } from '../lib/prompt.ts';
import { settings } from '../lib/settings.ts';
import { note, out, outJson, parse, UsageError, type Command } from './args.ts';

async function password(values: { password?: string | undefined; 'password-stdin'?: boolean | undefined }): Promise<string> {
  if (values.password !== undefined && values['password-stdin']) throw new UsageError('give --password or --password-stdin, not both');
  if (values['password-stdin']) return readStdinLine('--password-stdin');
  if (values.password !== undefined) {
    note('WARNING: --password on the command line is insecure (other users see it in `ps`); use the prompt or --password-stdin');
    return values.password;
  }
  if (settings.password) return settings.password;
  if (isTerminal()) return readHidden('Password: ');
  throw new UsageError('no password: type it at the prompt (run on a terminal), pipe it with --password-stdin, or set STRATUS_PASSWORD');
}

export const login: Command = {
  usage: 'stratus login [--username U] [--password-stdin] [--url URL] [--json]   (prompts on a terminal; or env STRATUS_PASSWORD)',
  async run(argv) {
    const { values, positionals } = parse(argv, {
      username: { type: 'string', short: 'u' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean' },
    });
    if (positionals.length > 0) throw new UsageError('login takes no arguments');
    // A user name can be asked for only when stdin is free for it (not carrying the password).
    const username = values.username ?? (isTerminal() && !values['password-stdin'] ? await readVisible('Username: ') : undefined);
    if (!username) throw new UsageError('login needs --username');
    const secret = await password(values);
    const url = serverUrl(values.url);
    const { login: auth } = await new StratusApi(url).gql(LoginDocument, { username, password: secret });
    saveCredentials({ url, accessToken: auth.accessToken, refreshToken: auth.refreshToken });
    if (values.json) outJson({ url, user: auth.user });
    else out(`logged in to ${url} as ${auth.user.username}`);
  },
};
