/**
 * `stratus download ID --out FILE [--force] [--limit-rate BYTES]`: resumable, verified against the
 * file's content hash (see cli/lib/download.ts for the rules).
 */
import path from 'node:path';
import { connect } from '../lib/config.ts';
import { downloadFile } from '../lib/download.ts';
import { ProgressBar } from '../lib/progress-bar.ts';
import { bytesOption, note, onePositional, out, outJson, parse, UsageError, type Command } from './args.ts';

export const download: Command = {
  usage: 'stratus download ID --out FILE [--force] [--limit-rate BYTES] [--json] [--url URL]',
  async run(argv, { signal }) {
    const { values, positionals } = parse(argv, {
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      'limit-rate': { type: 'string' },
    });
    const id = onePositional(positionals, 'file ID');
    if (!values.out) throw new UsageError('--out FILE is required');
    const target = path.resolve(values.out);
    const api = await connect(values.url);
    let bar: ProgressBar | undefined;
    const result = await downloadFile(api, id, target, {
      force: values.force ?? false,
      limitRate: bytesOption('limit-rate', values['limit-rate']),
      signal,
      onStatus: note,
      onProgress: (done, total) => {
        bar ??= new ProgressBar(`download ${id}`, total);
        bar.update(done);
      },
    });
    bar?.finish();
    if (values.json) outJson({ id, out: target, ...result });
    else out(`downloaded ${id} -> ${target} ${result.bytes}`);
  },
};
