/**
 * A codegen plugin: each operation of the documents as a plain string constant (the operation and
 * every fragment it spreads, printed) typed with its result and variables, which is what the web
 * app and the CLI send over fetch and graphql-ws. `gql(CreateUploadDocument, vars)` then checks
 * the variables and types the answer with no hand-written shape.
 */
import { Kind, print, visit, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';

const SUFFIX = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' } as const;

const HEADER = `/** An operation's text, typed with its answer and variables (phantom fields, never set). */
export type Operation<TResult, TVariables> = string & { readonly __result?: TResult; readonly __variables?: TVariables };
`;

function spreads(node: OperationDefinitionNode | FragmentDefinitionNode): string[] {
  const names: string[] = [];
  visit(node, { FragmentSpread: (s) => void names.push(s.name.value) });
  return names;
}

/** The fragments an operation needs, transitively, each once. */
function fragmentsOf(op: OperationDefinitionNode, all: Map<string, FragmentDefinitionNode>): FragmentDefinitionNode[] {
  const seen = new Map<string, FragmentDefinitionNode>();
  const queue = spreads(op);
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    const fragment = all.get(name);
    if (!fragment || seen.has(name)) continue;
    seen.set(name, fragment);
    queue.push(...spreads(fragment));
  }
  return [...seen.values()];
}

export function documentStringsPlugin(_schema: unknown, documents: { document?: DocumentNode }[]): string {
  const definitions = documents.flatMap((d) => d.document?.definitions ?? []);
  const fragments = new Map(definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f] as const));
  const lines = [HEADER];
  // A fragment's fields on one line, for callers that build a selection around them.
  for (const fragment of fragments.values()) {
    const fields = print(fragment.selectionSet).replace(/\s+/g, ' ').slice(2, -2);
    lines.push(`export const ${fragment.name.value}Fields = ${JSON.stringify(fields)};`);
  }
  for (const op of definitions) {
    if (op.kind !== Kind.OPERATION_DEFINITION) continue;
    if (!op.name) throw new Error('every client operation needs a name (its generated types are named after it)');
    const name = op.name.value + SUFFIX[op.operation];
    const text = [op, ...fragmentsOf(op, fragments)].map((d) => print(d)).join('\n');
    lines.push(`export const ${op.name.value}Document = ${JSON.stringify(text)} as Operation<${name}, ${name}Variables>;`);
  }
  return lines.join('\n');
}
