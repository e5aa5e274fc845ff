/**
 * `extensions.cost { requested, limit }` on every GraphQL response (design.md: "Every response
 * carries extensions.cost"), and the refusal of an operation that costs more than the limit.
 *
 * - Apollo: `costPlugin` prices the operation once it is resolved (with the request's variables;
 *   validated documents are cached by Apollo, so pricing cannot live in a validation rule) and
 *   writes the cost on the response in `willSendResponse`, which runs for results and for the
 *   pipeline's errors alike; `stringifyWithCost` covers the answers Apollo writes outside that
 *   pipeline (a context that failed: a bad token's 401).
 * - `requested` is null when the operation was refused before it could be priced (malformed,
 *   invalid, over a document limit).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { FormattedExecutionResult, GraphQLError } from 'graphql';
import { limitError, type QueryLimits } from './limits.ts';
import { priceOperation } from './query-cost.ts';

export interface CostReport {
  requested: number | null;
  limit: number;
}

/** The refusal of an operation priced over the limit (HTTP 400, as other refused queries). */
export function costRefusal(requested: number, limits: QueryLimits): GraphQLError | undefined {
  if (requested <= limits.maxCost) return undefined;
  return limitError(`Query costs ${requested}; the limit is ${limits.maxCost}`, 'query_too_costly', { http: { status: 400 } });
}

export function withCost<T extends { extensions?: Record<string, unknown> | undefined }>(result: T, cost: CostReport): T {
  return { ...result, extensions: { ...result.extensions, cost } };
}

export function costPlugin<C extends object>(limits: QueryLimits): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      let requested: number | null = null;
      return {
        async didResolveOperation(rc) {
          if (!rc.operation) return;
          requested = priceOperation(rc.schema, rc.document, rc.operation, rc.request.variables);
          const refusal = costRefusal(requested, limits);
          // Apollo answers a GraphQLError thrown here as the request's error, before execution.
          if (refusal) throw refusal;
        },
        async willSendResponse(rc) {
          const cost: CostReport = { requested, limit: limits.maxCost };
          const body = rc.response.body;
          if (body.kind === 'single') body.singleResult = withCost(body.singleResult, cost);
          else body.initialResult = withCost(body.initialResult, cost);
        },
      };
    },
  };
}

/** Apollo's `stringifyResult` (JSON + newline, as its default) adding the cost where none was set. */
export function stringifyWithCost(limits: QueryLimits) {
  return (value: FormattedExecutionResult): string => {
    const priced = value.extensions?.cost ? value : withCost(value, { requested: null, limit: limits.maxCost });
    return `${JSON.stringify(priced)}\n`;
  };
}
