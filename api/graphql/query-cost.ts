/**
 * The price of an operation: what it may return, computed per request with its variables
 * (issue 17, item 2). Every field costs 1; a list multiplies the price of its selections by the
 * number of items it returns:
 * - a field with a `first` argument returns `first` items — the literal, the variable's value, the
 *   variable's default, else the argument's schema default (GraphQL spec §6.4.1
 *   CoerceArgumentValues: an absent variable falls back to the argument's default); null or no
 *   default is unbounded and priced at the server's maximum page. A connection (`children`) is
 *   not itself a list: its `first` sizes the lists directly under it (`edges`, `jobs`);
 * - a list without `first` is priced at its real maximum (list-sizes.ts), else the maximum page;
 * - a list of scalars is one value (its items resolve nothing further).
 * Values above the maximum page are priced at it: the service refuses them anyway.
 * Fragments are priced once per (fragment, page size handed down) and reused: linear in the
 * document. The introspection roots `__schema` / `__type` count 1 (bounded by the schema).
 */
import {
  Kind,
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { META_FIELDS } from './document-shape.ts';
import { LIST_MAXIMUM, MAX_PAGE } from './list-sizes.ts';

export type Variables = Readonly<Record<string, unknown>> | null | undefined;

export function priceOperation(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Variables): number {
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  return new Pricer(schema, document, operation, variables ?? {}).selectionSet(operation.selectionSet, root, undefined);
}

class Pricer {
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  private readonly priced = new Map<string, number | 'in-progress'>();

  constructor(
    private readonly schema: GraphQLSchema,
    document: DocumentNode,
    private readonly operation: OperationDefinitionNode,
    private readonly variables: Readonly<Record<string, unknown>>,
  ) {
    for (const def of document.definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(def.name.value, def);
    }
  }

  /** `page`: the `first` of the connection field this set belongs to, sizing its lists. */
  selectionSet(set: SelectionSetNode, type: GraphQLNamedType, page: number | undefined): number {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        cost += this.field(selection, type, page);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : type;
        cost += this.selectionSet(selection.selectionSet, condition ?? type, page);
      } else {
        cost += this.fragment(selection.name.value, page);
      }
    }
    return cost;
  }

  private fragment(name: string, page: number | undefined): number {
    const key = `${name}|${page ?? ''}`;
    const known = this.priced.get(key);
    // A cycle is refused by validation (NoFragmentCyclesRule); never loop on one meanwhile.
    if (known === 'in-progress') return 0;
    if (known !== undefined) return known;
    const def = this.fragments.get(name);
    const type = def && this.schema.getType(def.typeCondition.name.value);
    if (!def || !type) return 0;
    this.priced.set(key, 'in-progress');
    const cost = this.selectionSet(def.selectionSet, type, page);
    this.priced.set(key, cost);
    return cost;
  }

  private field(node: FieldNode, parent: GraphQLNamedType, page: number | undefined): number {
    if (META_FIELDS.has(node.name.value) || !node.selectionSet) return 1;
    const def = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    if (!def) return 1;
    const itemType = getNamedType(def.type);
    if (!isCompositeType(itemType)) return 1;
    const own = this.pageOf(def, node);
    if (!isListType(getNullableType(def.type))) return 1 + this.selectionSet(node.selectionSet, itemType, own);
    const items = own ?? page ?? LIST_MAXIMUM.get(`${parent.name}.${def.name}`) ?? MAX_PAGE;
    return 1 + items * this.selectionSet(node.selectionSet, itemType, undefined);
  }

  /** The page a field with a `first` argument asks for; undefined for other fields. */
  private pageOf(def: GraphQLField<unknown, unknown>, node: FieldNode): number | undefined {
    const arg = def.args.find((a) => a.name === 'first');
    if (!arg) return undefined;
    const given = node.arguments?.find((a) => a.name.value === 'first')?.value;
    let value: unknown = arg.defaultValue;
    if (given?.kind === Kind.VARIABLE) {
      const name = given.name.value;
      if (Object.hasOwn(this.variables, name)) value = this.variables[name];
      else {
        const declared = this.operation.variableDefinitions?.find((v) => v.variable.name.value === name)?.defaultValue;
        if (declared) value = valueFromASTUntyped(declared);
      }
    } else if (given) {
      value = valueFromASTUntyped(given);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) return MAX_PAGE;
    return Math.min(MAX_PAGE, Math.max(0, Math.trunc(value)));
  }
}
