/**
 * Several small files of one folder in one `uploadFiles` request (the CLI's rule,
 * cli/lib/upload-batch.ts): files up to BATCH_FILE_MAX, at most BATCH_FILES files and BATCH_BYTES
 * bytes a request. A folder of photos or documents dropped on the page is mostly such files, and
 * for them the request, its operation and the server's transaction, not the bytes, were what an
 * upload cost; over a link with its own round-trip time, each file also waited for its own.
 * Each file succeeds or fails on its own (the server's result per file); stopping the request
 * stops all of its files, and nothing is kept of a request the server did not finish.
 */
import type { UploadFilesMutation } from './graphql.generated.ts';
import { UploadFilesDocument } from './graphql.generated.ts';
import { postForm, withToken, type OneRequestOptions } from './upload-way.ts';

export const BATCH_FILE_MAX = 1024 * 1024;
export const BATCH_FILES = 32;
export const BATCH_BYTES = 8 * 1024 * 1024;

export type BatchResult = UploadFilesMutation['uploadFiles'][number];

/** Whether a file may go in a batch: small, and not continuing a session. */
export function batchable(size: number, resumeSessionId: string | null): boolean {
  return resumeSessionId === null && size <= BATCH_FILE_MAX;
}

/** One uploadFiles request for `files` into `parentId`; the results in the same order. */
export function uploadBatch(files: { file: File; name: string }[], parentId: string, options: OneRequestOptions = {}): Promise<BatchResult[]> {
  return withToken(async (token) => {
    const form = new FormData();
    // Each file's size and name go with it (the server checks names and room before a byte is
    // stored); mimeType null: the browser knows no type, none is recorded.
    const variables = { parentId, files: files.map(({ file, name }) => ({ file: null, size: file.size, name, mimeType: file.type || null })) };
    form.append('operations', JSON.stringify({ query: UploadFilesDocument, variables }));
    form.append('map', JSON.stringify(Object.fromEntries(files.map((_, i) => [i, [`variables.files.${i}.file`]]))));
    files.forEach(({ file, name }, i) => form.append(String(i), file, name));
    const total = files.reduce((sum, f) => sum + f.file.size, 0);
    return (await postForm<UploadFilesMutation>(form, token, total, options)).uploadFiles;
  });
}
