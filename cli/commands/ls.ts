/** `stratus ls [PATH]`: a folder's entries (folders first), or the one file PATH names. */
import { connect } from '../lib/config.ts';
import { listChildren, resolve } from '../lib/remote-path.ts';
import { itemTable } from '../lib/table.ts';
import { out, outJson, parse, UsageError, type Command } from './args.ts';

export const ls: Command = {
  usage: 'stratus ls [PATH] [--json] [--url URL]   (PATH like /docs/2026; default /)',
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    if (positionals.length > 1) throw new UsageError(`ls takes one PATH, got ${positionals.length}`);
    const api = await connect(values.url);
    const item = await resolve(api, positionals[0] ?? '/');
    const items = item.isFolder ? await listChildren(api, item) : [item];
    if (values.json) outJson(items);
    else for (const line of itemTable(items)) out(line);
  },
};
