/** `stratus mkdir [-p] PATH`: a folder; -p also makes the missing parents and accepts an existing folder. */
import { connect } from '../lib/config.ts';
import { makeFolder } from '../lib/drive.ts';
import { onePositional, out, outJson, parse, type Command } from './args.ts';

export const mkdir: Command = {
  usage: 'stratus mkdir [-p] PATH [--json] [--url URL]',
  async run(argv) {
    const { values, positionals } = parse(argv, { parents: { type: 'boolean', short: 'p' } });
    const remote = onePositional(positionals, 'PATH');
    const api = await connect(values.url);
    const { folder, created } = await makeFolder(api, remote, values.parents ?? false);
    if (values.json) outJson(folder);
    else for (const f of created) out(`created ${f.path} ${f.id}`);
  },
};
