/**
 * Query cost limits, enforced as validation rules before anything executes:
 * - depth: nesting of selections (fragments followed) at most `maxDepth`;
 * - cost: every field costs 1, multiplied by the page size (`first`, default 20) of each list
 *   connection above it, at most `maxCost`;
 * - aliases: at most `maxAliases` per operation (alias batching is the cheap way around the cost).
 * The introspection meta-fields `__schema` and `__type` are not walked (see `META_FIELDS`).
 */
import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 12, maxCost: 20_000, maxAliases: 30 };
const DEFAULT_PAGE = 20;

/**
 * Introspection roots (GraphQL spec §4.2, "Schema Introspection"): their answer is bounded by the
 * schema, not by data, so they count 1 and their selections are neither depth- nor cost-walked.
 * The standard query of every tool (`getIntrospectionQuery()`: GraphiQL, codegen, Postman) nests
 * `ofType` 9 deep and so is 15 levels deep — over any depth limit that still protects ordinary
 * fields. The one unbounded shape, `fields { type { fields { … } } }` cycling through types, is
 * refused by graphql-js's MaxIntrospectionDepthRule (part of `specifiedRules`, which both
 * transports run); in production Apollo and the graphql-ws server refuse introspection outright.
 */
const META_FIELDS = new Set(['__schema', '__type']);

function limitError(message: string, reason: string) {
  return new GraphQLError(message, { extensions: { code: 'BAD_INPUT', details: { reason } } });
}

export function queryLimitsRule(limits: QueryLimits = DEFAULT_LIMITS) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }
    const variables = new Map<string, unknown>();

    const pageSize = (args: readonly { name: { value: string }; value: { kind: Kind; value?: unknown } }[]) => {
      const first = args.find((a) => a.name.value === 'first');
      if (first?.value.kind === Kind.INT) return Math.max(1, Number(first.value.value));
      return first ? DEFAULT_PAGE * 5 : 1;
    };

    let aliases = 0;
    const walk = (set: SelectionSetNode, depth: number, seen: Set<string>): { depth: number; cost: number } => {
      let maxDepth = depth;
      let cost = 0;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          if (selection.alias) aliases++;
          if (META_FIELDS.has(selection.name.value)) {
            cost += 1;
            continue;
          }
          const multiplier = selection.arguments ? pageSize(selection.arguments as never) : 1;
          cost += 1;
          if (selection.selectionSet) {
            const inner = walk(selection.selectionSet, depth + 1, seen);
            maxDepth = Math.max(maxDepth, inner.depth);
            cost += multiplier * inner.cost;
          }
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const inner = walk(selection.selectionSet, depth, seen);
          maxDepth = Math.max(maxDepth, inner.depth);
          cost += inner.cost;
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          // A fragment spread inside itself is reported by graphql-js (NoFragmentCycles); stop here.
          if (!fragment || seen.has(name)) continue;
          const inner = walk(fragment.selectionSet, depth, new Set([...seen, name]));
          maxDepth = Math.max(maxDepth, inner.depth);
          cost += inner.cost;
        }
      }
      return { depth: maxDepth, cost };
    };

    return {
      OperationDefinition(node) {
        aliases = 0;
        variables.clear();
        const { depth, cost } = walk(node.selectionSet, 1, new Set());
        if (depth > limits.maxDepth) {
          context.reportError(limitError(`Query is ${depth} levels deep; the limit is ${limits.maxDepth}`, 'query_too_deep'));
        } else if (cost > limits.maxCost) {
          context.reportError(limitError(`Query costs ${cost}; the limit is ${limits.maxCost}`, 'query_too_costly'));
        } else if (aliases > limits.maxAliases) {
          context.reportError(limitError(`Query has ${aliases} aliases; the limit is ${limits.maxAliases}`, 'too_many_aliases'));
        }
      },
    };
  };
}
