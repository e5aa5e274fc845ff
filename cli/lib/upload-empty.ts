/**
 * An empty file: an upload session needs at least one byte (createUpload refuses size 0), so it
 * goes as `uploadFile` in one GraphQL multipart request
 * (https://github.com/jaydenseric/graphql-multipart-request-spec), its part typed with the MIME
 * type (the server records the part's Content-Type). Apollo's CSRF prevention requires the
 * `apollo-require-preflight` header on multipart requests.
 */
import { ApiError, type StratusApi } from './api.ts';
import { UploadEmptyFileDocument, type UploadEmptyFileMutation, type UploadSessionFragment } from './graphql.generated.ts';

/** The file an upload made: the same fields as the UploadSession fragment's `file`. */
export type UploadedFile = NonNullable<UploadSessionFragment['file']>;

export async function uploadEmptyFile(api: StratusApi, name: string, parentId: string | null, mimeType: string | null): Promise<UploadedFile> {
  const form = new FormData();
  form.append('operations', JSON.stringify({
    query: UploadEmptyFileDocument,
    // The file is the multipart request's part "0", mapped onto variables.file.
    variables: { parentId, file: null },
  }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([], { type: mimeType ?? 'application/octet-stream' }), name);
  const res = await fetch(`${api.url}/graphql`, { method: 'POST', headers: api.headers({ 'apollo-require-preflight': 'true' }), body: form });
  const body = (await res.json()) as { data?: UploadEmptyFileMutation | null; errors?: { message: string; extensions?: { code?: string; details?: Record<string, unknown> } }[] };
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code ?? 'INTERNAL', error.extensions?.details, res.status);
  if (!body.data) throw new ApiError('empty response', 'INTERNAL', undefined, res.status);
  return body.data.uploadFile;
}
