/**
 * Query limits, all checked before anything executes:
 * - tokens: at most `maxTokens` lexical tokens, enforced by the parser itself (graphql-js
 *   `maxLexicalTokens`), so no document costs more than that much parsing;
 * - fields: at most `maxFields` field selections with fragments expanded (document-shape.ts),
 *   checked before graphql-js's own validation, whose OverlappingFieldsCanBeMerged rule is
 *   quadratic in the fields sharing a response name;
 * - depth: nesting of selections (fragments followed) at most `maxDepth`;
 * - aliases: at most `maxAliases` per operation (alias batching is the cheap way around the cost);
 * - cost: what the operation may return, priced per request with its variables (query-cost.ts),
 *   at most `maxCost`.
 * Refusals are BAD_INPUT with a stable `details.reason`.
 */
import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';
import { DocumentShapes, type Shape } from './document-shape.ts';
import type { ErrorReason } from '../../internal/platform/errors.ts';

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxTokens: number;
  maxFields: number;
}

/**
 * GraphiQL's full introspection query is 184 tokens (`__schema` counts as one field); the web
 * app's and the CLI's largest queries are under 100 tokens and 50 fields. graphql-js's
 * OverlappingFieldsCanBeMerged compares same-named fields pairwise: 499 copies of
 * `folder { id }` (998 fields) took seconds to validate, 200 fields stay in the milliseconds.
 */
export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 12, maxCost: 20_000, maxAliases: 30, maxTokens: 1_000, maxFields: 200 };

export function limitError(message: string, reason: ErrorReason, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_INPUT', details: { reason }, ...extensions } });
}

/** The first limit a document's shape breaks, or undefined. */
export function shapeError(shape: Shape, limits: QueryLimits): GraphQLError | undefined {
  if (shape.depth > limits.maxDepth) return limitError(`Query is ${shape.depth} levels deep; the limit is ${limits.maxDepth}`, 'query_too_deep');
  if (shape.fields > limits.maxFields) return limitError(`Query selects ${shape.fields} fields (fragments expanded); the limit is ${limits.maxFields}`, 'too_many_fields');
  if (shape.aliases > limits.maxAliases) return limitError(`Query has ${shape.aliases} aliases; the limit is ${limits.maxAliases}`, 'too_many_aliases');
  return undefined;
}

/**
 * The same shape limits as a validation rule, for every path that validates a document (the
 * transports also check them before validation: document-bounds.ts). Linear: fragments memoised.
 */
export function queryLimitsRule(limits: QueryLimits = DEFAULT_LIMITS) {
  return (context: ValidationContext): ASTVisitor => {
    const shapes = new DocumentShapes(context.getDocument());
    return {
      OperationDefinition(node) {
        const error = shapeError(shapes.operation(node), limits);
        if (error) context.reportError(error);
      },
    };
  };
}
