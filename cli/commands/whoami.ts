/** `stratus whoami`: the signed-in person and their quota, one line. */
import { connect } from '../lib/config.ts';
import { WhoAmIDocument } from '../lib/graphql.generated.ts';
import { formatBytes } from '../lib/progress-bar.ts';
import { out, outJson, parse, UsageError, type Command } from './args.ts';

export const whoami: Command = {
  usage: 'stratus whoami [--json] [--url URL]',
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    if (positionals.length > 0) throw new UsageError('whoami takes no arguments');
    const api = await connect(values.url);
    const { me } = await api.gql(WhoAmIDocument);
    if (values.json) return void outJson({ ...me, server: api.url });
    out(`${me.username} <${me.email}> id=${me.id} quota=${formatBytes(me.quota.used)}/${formatBytes(me.quota.limit)} server=${api.url}`);
  },
};
