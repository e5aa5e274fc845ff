/** `stratus rm PATH`: moves a file or a folder with everything in it to the trash (restorable). */
import { connect } from '../lib/config.ts';
import { trashItem } from '../lib/drive.ts';
import { onePositional, out, outJson, parse, type Command } from './args.ts';

export const rm: Command = {
  usage: 'stratus rm PATH [--json] [--url URL]   (to the trash)',
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const remote = onePositional(positionals, 'PATH');
    const api = await connect(values.url);
    const item = await trashItem(api, remote);
    if (values.json) outJson(item);
    else out(`trashed ${item.path} ${item.id}`);
  },
};
