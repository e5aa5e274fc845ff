/**
 * `stratus resume`: continues every unfinished upload of the signed-in person whose local file
 * this machine knows (uploads.json). Each is matched by session id, so a file edited since is
 * refused instead of silently starting a new upload. Entries of finished sessions are dropped.
 */
import { connect, forgetUpload, knownUploads } from '../lib/config.ts';
import { ResumableUploadsDocument, UploadStatusDocument } from '../lib/graphql.generated.ts';
import { intOption, note, outJson, parse, UsageError, type Command } from './args.ts';
import { runUpload, type UploadReport } from './upload.ts';

const FINISHED = new Set(['COMPLETED', 'CANCELLED', 'FAILED', 'EXPIRED']);

export const resume: Command = {
  usage: 'stratus resume [--parallel N] [--json] [--url URL]',
  async run(argv, { signal }) {
    const { values, positionals } = parse(argv, { parallel: { type: 'string', short: 'p' } });
    if (positionals.length > 0) throw new UsageError('resume takes no FILE: it continues the uploads listed in uploads.json (state directory)');
    const parallel = intOption('parallel', values.parallel, 1, 64) ?? 4;
    const api = await connect(values.url);
    const known = knownUploads();
    const { uploads } = await api.gql(ResumableUploadsDocument);
    const open = new Set(uploads.map((s) => s.id));
    // Sessions we know that are no longer open: drop them if they ended. NOT_FOUND may be
    // another account's session on this machine, so that entry stays.
    for (const id of Object.keys(known).filter((id) => !open.has(id))) {
      const status = await api.gql(UploadStatusDocument, { id }).then((r) => r.upload.status, () => undefined);
      if (status && FINISHED.has(status)) forgetUpload(id);
    }
    const mine = uploads.filter((s) => known[s.id] !== undefined);
    if (mine.length === 0) {
      note('nothing to resume');
      if (values.json) outJson([]);
      return;
    }
    let failed: unknown;
    const reports: UploadReport[] = [];
    for (const session of mine) {
      try {
        reports.push(await runUpload(api, known[session.id] ?? '', { sessionId: session.id, name: session.name, parentId: session.parentId, parallel, signal }, values.json));
      } catch (error) {
        // One missing or edited file must not keep the others from finishing.
        note(`resume ${session.name} (${session.id}) failed: ${error instanceof Error ? error.message : String(error)}`);
        failed ??= error;
      }
    }
    if (values.json) outJson(reports);
    if (failed) throw failed;
  },
};
