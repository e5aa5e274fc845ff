/** A small client of the Stratus API for the command line and the tests: GraphQL over fetch. */
import { UploadSessionFields, type Operation, type UploadSessionFragment } from './graphql.generated.ts';

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

  /**
   * One operation: a generated one (cli/lib/operations.graphql, `npm run codegen`) types its
   * variables and answer; a plain string needs the answer's type given.
   */
  async gql<T, V = Record<string, unknown>>(query: Operation<T, V> | string, variables?: V, signal?: AbortSignal): Promise<T> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ query, variables: variables ?? {} }),
      // The caller's abort ends a request that is waiting on the server, not only the next one.
      ...(signal ? { signal } : {}),
    });
    return dataOf((await res.json()) as GraphQLAnswer<T>, res.status);
  }
}

/** A GraphQL answer's body as the server sends it. */
export interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; details?: Record<string, unknown> } }[];
}

/** The answer's data, or its first error as an ApiError (with the HTTP status it came with). */
export function dataOf<T>(body: GraphQLAnswer<T>, status: number): T {
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code ?? 'INTERNAL', error.extensions?.details, status);
  if (!body.data) throw new ApiError('empty response', 'INTERNAL', undefined, status);
  return body.data;
}

/** The upload-session fields (fragment UploadSession, schema/fragments/upload-session.graphql). */
export const SESSION_FIELDS = UploadSessionFields;

/** An upload session as the CLI reads it: the shared UploadSession fragment's generated type. */
export type SessionView = UploadSessionFragment;
