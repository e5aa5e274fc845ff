/**
 * The query limits and `extensions.cost` for graphql-ws operations, as HTTP has them
 * (bounded-apollo.ts, cost-report.ts): the document bounds before validation, graphql-js's rules
 * and the shape rule, then the price with the operation's variables.
 *
 * graphql-transport-ws sends a refused operation as an `Error` message whose payload is the list
 * of errors and nothing else (no place for top-level extensions), so there each error carries
 * `extensions.cost`; a `Next` message carries it in the result's `extensions`.
 */
import { getOperationAST, validate, type ExecutionArgs, type GraphQLError, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { costRefusal, withCost, type CostReport } from './cost-report.ts';
import { boundDocument } from './document-bounds.ts';
import type { QueryLimits } from './limits.ts';
import { priceOperation } from './query-cost.ts';

export class WsCosts {
  /** Per connection (its `extra`), per operation id: the price, null until priced. */
  private readonly priced = new WeakMap<object, Map<string, number | null>>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: readonly ValidationRule[],
    private readonly limits: QueryLimits,
  ) {}

  /** onSubscribe: the operation to run, or the errors that refuse it. */
  prepare(connection: object, id: string, payload: SubscribePayload): ExecutionArgs | readonly GraphQLError[] {
    const prices = this.prices(connection);
    prices.set(id, null);
    const bounded = boundDocument(payload.query, this.limits);
    if (bounded.kind !== 'ok') return [bounded.error];
    const { document } = bounded;
    const errors = validate(this.schema, document, this.rules);
    if (errors.length > 0) return errors;
    const operation = getOperationAST(document, payload.operationName);
    if (operation) {
      const requested = priceOperation(this.schema, document, operation, payload.variables);
      prices.set(id, requested);
      const refusal = costRefusal(requested, this.limits);
      if (refusal) return [refusal];
    }
    return { schema: this.schema, document, operationName: payload.operationName, variableValues: payload.variables };
  }

  /** onNext: the result with its cost. */
  result<R extends { extensions?: Record<string, unknown> | undefined }>(connection: object, id: string, result: R): R {
    return withCost(result, this.report(connection, id));
  }

  /** onError: every error with the operation's cost; the operation is over. */
  errors(connection: object, id: string, errors: readonly GraphQLFormattedError[]): GraphQLFormattedError[] {
    const cost = this.report(connection, id);
    this.done(connection, id);
    return errors.map((error) => ({ ...error, extensions: { ...error.extensions, cost } }));
  }

  done(connection: object, id: string): void {
    this.priced.get(connection)?.delete(id);
  }

  private report(connection: object, id: string): CostReport {
    return { requested: this.priced.get(connection)?.get(id) ?? null, limit: this.limits.maxCost };
  }

  private prices(connection: object): Map<string, number | null> {
    let prices = this.priced.get(connection);
    if (!prices) this.priced.set(connection, (prices = new Map()));
    return prices;
  }
}
