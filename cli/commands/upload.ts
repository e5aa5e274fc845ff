/**
 * `stratus upload FILE... [--parallel N] [--folder ID] [--chunk-size BYTES] [--no-instant] [--overwrite] [--json]`
 * With --overwrite a file of that name in the folder takes the new content (same file id) and its
 * old content is kept as a version (conflict NEW_VERSION); without it a taken name is refused.
 * The session id and local path go into uploads.json (state directory) the moment the session
 * exists, so a killed upload can be continued by `stratus resume` (or by running the same upload
 * again). The MIME type comes from the extension. An empty file, and a file of at most 32 MiB (or
 * of at most --chunk-size when one is given), goes in one request (cli/lib/upload-small.ts).
 * Several FILEs: files up to 1 MiB go together, up to 32 per request (cli/lib/upload-batch.ts),
 * larger ones as one FILE goes; --parallel requests at a time. A line per file as it is stored;
 * a file that fails is said on stderr and the others go on (exit 1 when any failed).
 */
import type { UploadOptions } from '../lib/upload.ts';
import { sendFile, type UploadedFile } from '../lib/upload-small.ts';
import { connect, forgetUpload, rememberUpload, type CliApi } from '../lib/config.ts';
import { ProgressBar } from '../lib/progress-bar.ts';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { errorView, formatError } from '../lib/cli.errors.ts';
import { sendFiles, type FileOutcome, type LocalFile } from '../lib/upload-batch.ts';
import { bytesOption, intOption, note, out, outJson, parse, UsageError, type Command } from './args.ts';

export const usage = 'stratus upload FILE... [--parallel N] [--folder ID] [--chunk-size BYTES] [--no-instant] [--overwrite] [--json] [--url URL]';

export interface UploadReport {
  file: UploadedFile;
  sessionId: string | null;
  instant: boolean;
  chunksSent: number;
}

/** Runs one upload with a progress bar and the bookkeeping for resume; prints the result line unless `json`. */
export async function runUpload(api: CliApi, file: string, options: UploadOptions, json = false): Promise<UploadReport> {
  let bar: ProgressBar | undefined;
  let label = file;
  const sent = await sendFile(api, file, {
    ...options,
    onSession: (session) => {
      label = `upload ${session.name}`;
      if (session.status !== 'COMPLETED') rememberUpload(session.id, file);
    },
    onProgress: (bytes, total) => {
      bar ??= new ProgressBar(label, total);
      bar.update(bytes);
    },
  });
  bar?.finish();
  const session = sent.session;
  if (session) forgetUpload(session.session.id);
  const report: UploadReport = { file: sent.file, sessionId: session?.session.id ?? null, instant: session?.instant ?? false, chunksSent: session?.chunksSent ?? 0 };
  const how = report.instant ? 'instant' : `${report.chunksSent} chunks`;
  if (!json) out(`uploaded ${report.file.name} ${report.file.id} ${report.file.size} (${how})`);
  return report;
}

export const upload: Command = {
  usage,
  async run(argv, { signal }) {
    const { values, positionals } = parse(argv, {
      parallel: { type: 'string', short: 'p' },
      folder: { type: 'string' },
      'chunk-size': { type: 'string' },
      'no-instant': { type: 'boolean' },
      overwrite: { type: 'boolean' },
    });
    if (positionals.length === 0) throw new UsageError('expected at least one FILE');
    const options: UploadOptions = {
      parallel: intOption('parallel', values.parallel, 1, 64) ?? 4,
      parentId: values.folder ?? null,
      chunkSize: bytesOption('chunk-size', values['chunk-size']),
      noInstant: values['no-instant'] ?? false,
      overwrite: values.overwrite ?? false,
      signal,
    };
    const api = await connect(values.url);
    if (positionals.length > 1) return runUploads(api, positionals, options, values.json);
    const report = await runUpload(api, positionals[0] as string, options, values.json);
    if (values.json) outJson(report);
  },
};

/** Several files into one folder (cli/lib/upload-batch.ts): a line per file; fails when any file did. */
async function runUploads(api: CliApi, paths: string[], options: UploadOptions, json = false): Promise<void> {
  const files: LocalFile[] = [];
  for (const file of paths) {
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) throw new UsageError(`${file} is not a file`);
    files.push({ path: file, name: path.basename(file), size: info.size });
  }
  const shown = (outcome: FileOutcome) => (outcome.error ? { error: errorView(outcome.error) } : { file: outcome.file, way: outcome.way });
  const outcomes = await sendFiles(api, files, {
    ...options,
    onFile: (file, outcome) => {
      if (json) return;
      if (outcome.error) note(`${file.path}: ${formatError(errorView(outcome.error))}`);
      else out(`uploaded ${outcome.file.name} ${outcome.file.id} ${outcome.file.size} (${outcome.way})`);
    },
  });
  if (json) outJson(outcomes.map((o, i) => ({ path: files[i]?.path, ...shown(o) })));
  const failed = outcomes.filter((o) => o.error).length;
  if (failed > 0) throw new Error(`${failed} of ${files.length} files were not uploaded`);
}
