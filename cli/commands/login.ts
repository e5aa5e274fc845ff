/**
 * `stratus login --username U --password P` (or STRATUS_PASSWORD, which keeps the password out
 * of `ps` and shell history): saves the token pair for this server in credentials.json (0600).
 */
import { StratusApi } from '../lib/api.ts';
import { saveCredentials, serverUrl } from '../lib/config.ts';
import { out, parse, UsageError, type Command } from './args.ts';

export const login: Command = {
  usage: 'stratus login --username U --password P [--url URL]   (or env STRATUS_PASSWORD)',
  async run(argv) {
    const { values, positionals } = parse(argv, { username: { type: 'string', short: 'u' }, password: { type: 'string' } });
    const password = values.password ?? process.env.STRATUS_PASSWORD;
    if (positionals.length > 0 || !values.username || !password) throw new UsageError('login needs --username and --password (or STRATUS_PASSWORD)');
    const url = serverUrl(values.url);
    const { login: auth } = await new StratusApi(url).gql<{ login: { accessToken: string; refreshToken: string; user: { username: string } } }>(
      'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken user { username } } }',
      { u: values.username, p: password },
    );
    saveCredentials({ url, accessToken: auth.accessToken, refreshToken: auth.refreshToken });
    out(`logged in to ${url} as ${auth.user.username}`);
  },
};
