/** Running one GraphQL operation over a graphql-ws client, as the WebSocket suites do. */
import type { Client, FormattedExecutionResult } from 'graphql-ws';

export type WsResult<T> = FormattedExecutionResult<T, unknown>;

/** One operation; resolves with its result (errors included), rejects when the socket fails. */
export function runOverWs<T>(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<WsResult<T>> {
  return new Promise((resolve, reject) => {
    let last: WsResult<T> | undefined;
    client.subscribe<T, unknown>({ query, variables }, {
      next: (value) => (last = value),
      error: (error) => (Array.isArray(error) ? resolve({ errors: error } as WsResult<T>) : reject(error instanceof Error ? error : new Error(`socket closed: ${(error as { code?: number }).code}`))),
      complete: () => (last ? resolve(last) : reject(new Error('completed without a result'))),
    });
  });
}
