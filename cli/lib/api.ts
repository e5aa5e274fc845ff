/** A small client of the Stratus API for the command line and the tests: GraphQL over fetch. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details?: Record<string, unknown>,
    readonly status?: number,
  ) {
    super(message);
  }
}

export class StratusApi {
  constructor(
    readonly url: string,
    public token?: string,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  async gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string; details?: Record<string, unknown> } }[] };
    const error = body.errors?.[0];
    if (error) throw new ApiError(error.message, error.extensions?.code ?? 'INTERNAL', error.extensions?.details, res.status);
    if (!body.data) throw new ApiError('empty response', 'INTERNAL', undefined, res.status);
    return body.data;
  }
}

export const SESSION_FIELDS = 'id status name parentId size chunkSize chunkCount contentHash uploadedChunks missingChunks uploadedBytes challenge { nonce ranges { offset length } } file { id name size contentHash mimeType } failureReason';

export interface SessionView {
  id: string;
  status: string;
  name: string;
  parentId: string;
  size: number;
  chunkSize: number;
  chunkCount: number;
  contentHash: string | null;
  uploadedChunks: number[];
  missingChunks: number[];
  uploadedBytes: number;
  challenge: { nonce: string; ranges: { offset: number; length: number }[] } | null;
  file: { id: string; name: string; size: number; contentHash: string; mimeType: string | null } | null;
  failureReason: string | null;
}
