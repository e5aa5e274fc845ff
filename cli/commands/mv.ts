/** `stratus mv SRC DST`: rename and/or move a file or folder (into DST when DST is a folder); never overwrites. */
import { connect } from '../lib/config.ts';
import { moveItem } from '../lib/drive.ts';
import { out, outJson, parse, UsageError, type Command } from './args.ts';

export const mv: Command = {
  usage: 'stratus mv SRC DST [--json] [--url URL]',
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const [src, dst] = positionals;
    if (positionals.length !== 2 || !src || !dst) throw new UsageError(`mv takes SRC and DST, got ${positionals.length} argument(s)`);
    const api = await connect(values.url);
    const moved = await moveItem(api, src, dst);
    if (values.json) outJson(moved);
    else out(`moved ${src} -> ${moved.path} ${moved.id}`);
  },
};
