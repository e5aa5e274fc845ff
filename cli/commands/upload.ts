/**
 * `stratus upload FILE [--parallel N] [--folder ID] [--chunk-size BYTES] [--no-instant]`
 * The session id and local path go into uploads.json the moment the session exists, so a killed
 * upload can be continued by `stratus resume` (or by running the same upload again).
 */
import { uploadFile, type UploadOptions, type UploadResult } from '../lib/upload.ts';
import { connect, forgetUpload, rememberUpload, type CliApi } from '../lib/config.ts';
import { ProgressBar } from '../lib/progress-bar.ts';
import { bytesOption, intOption, onePositional, out, parse, type Command } from './args.ts';

export const usage = 'stratus upload FILE [--parallel N] [--folder ID] [--chunk-size BYTES] [--no-instant] [--url URL]';

/** Runs one upload with a progress bar and the bookkeeping for resume; prints the result line. */
export async function runUpload(api: CliApi, file: string, options: UploadOptions): Promise<UploadResult> {
  let bar: ProgressBar | undefined;
  let label = file;
  const result = await uploadFile(api, file, {
    ...options,
    onSession: (session) => {
      label = `upload ${session.name}`;
      if (session.status !== 'COMPLETED') rememberUpload(session.id, file);
    },
    onProgress: (sent, total) => {
      bar ??= new ProgressBar(label, total);
      bar.update(sent);
    },
  });
  bar?.finish();
  const { session } = result;
  forgetUpload(session.id);
  const how = result.instant ? 'instant' : `${result.chunksSent} chunks`;
  out(`uploaded ${session.file?.name ?? session.name} ${session.file?.id ?? '?'} ${session.size} (${how})`);
  return result;
}

export const upload: Command = {
  usage,
  async run(argv, { signal }) {
    const { values, positionals } = parse(argv, {
      parallel: { type: 'string', short: 'p' },
      folder: { type: 'string' },
      'chunk-size': { type: 'string' },
      'no-instant': { type: 'boolean' },
    });
    const file = onePositional(positionals, 'FILE');
    const options: UploadOptions = {
      parallel: intOption('parallel', values.parallel, 1, 64) ?? 4,
      parentId: values.folder ?? null,
      chunkSize: bytesOption('chunk-size', values['chunk-size']),
      noInstant: values['no-instant'] ?? false,
      signal,
    };
    await runUpload(await connect(values.url), file, options);
  },
};
