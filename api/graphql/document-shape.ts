/**
 * The shape of a GraphQL document as execution would expand it — depth, field selections and
 * aliases with every fragment spread followed — computed in time linear in the document.
 *
 * Each fragment is measured once and its measure reused at every spread (memoised): a document
 * whose fragments each spread the next one twice expands to 2^n selections, and walking every
 * spread again took seconds for 20 fragments (issue 17, item 1). Fragment cycles are refused by
 * graphql-js's NoFragmentCyclesRule ("fragment spreads must not form cycles", GraphQL spec §5.5.2.2),
 * but this runs before validation, so a fragment met again while being measured counts 0 here.
 * The counts are plain numbers: they may overflow to Infinity, which still compares as "too many".
 */
import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

export interface Shape {
  /** Nesting of field selections: `{ a }` is 1, `{ a { b } }` is 2. */
  depth: number;
  /** Field selections with fragments expanded (aliases and repeats count each time). */
  fields: number;
  aliases: number;
}

/**
 * Introspection roots (GraphQL spec §4.2, "Schema Introspection"): their answer is bounded by the
 * schema, not by data, so they count as one field of depth 1 and their selections are not walked.
 * The standard query of every tool (`getIntrospectionQuery()`) nests `ofType` 9 deep; the one
 * unbounded shape, cycling through types, is refused by graphql-js's MaxIntrospectionDepthRule.
 */
export const META_FIELDS: ReadonlySet<string> = new Set(['__schema', '__type']);

const ZERO: Shape = { depth: 0, fields: 0, aliases: 0 };

/** Measures operations and fragments of one document; fragments are measured at most once. */
export class DocumentShapes {
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  private readonly measured = new Map<string, Shape | 'in-progress'>();

  constructor(document: DocumentNode) {
    for (const def of document.definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(def.name.value, def);
    }
  }

  operation(node: OperationDefinitionNode): Shape {
    return this.selectionSet(node.selectionSet);
  }

  /** The largest shape among the document's operations (a request runs one, but any may be picked). */
  static worst(document: DocumentNode): Shape {
    const shapes = new DocumentShapes(document);
    const worst = { ...ZERO };
    for (const def of document.definitions) {
      if (def.kind !== Kind.OPERATION_DEFINITION) continue;
      const shape = shapes.operation(def);
      worst.depth = Math.max(worst.depth, shape.depth);
      worst.fields = Math.max(worst.fields, shape.fields);
      worst.aliases = Math.max(worst.aliases, shape.aliases);
    }
    return worst;
  }

  private fragment(name: string): Shape {
    const known = this.measured.get(name);
    if (known === 'in-progress') return ZERO;
    if (known) return known;
    const def = this.fragments.get(name);
    if (!def) return ZERO;
    this.measured.set(name, 'in-progress');
    const shape = this.selectionSet(def.selectionSet);
    this.measured.set(name, shape);
    return shape;
  }

  private selectionSet(set: SelectionSetNode): Shape {
    let depth = 0;
    let fields = 0;
    let aliases = 0;
    for (const selection of set.selections) {
      let inner: Shape;
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) aliases++;
        fields++;
        if (META_FIELDS.has(selection.name.value) || !selection.selectionSet) {
          depth = Math.max(depth, 1);
          continue;
        }
        inner = this.selectionSet(selection.selectionSet);
        depth = Math.max(depth, 1 + inner.depth);
      } else {
        inner = selection.kind === Kind.INLINE_FRAGMENT ? this.selectionSet(selection.selectionSet) : this.fragment(selection.name.value);
        depth = Math.max(depth, inner.depth);
      }
      fields += inner.fields;
      aliases += inner.aliases;
    }
    return { depth, fields, aliases };
  }
}
