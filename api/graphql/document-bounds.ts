/**
 * The bound on a document BEFORE graphql-js validates it (issue 17, item 1): parsing stops after
 * `maxTokens` tokens, and the expanded field count, depth and aliases (document-shape.ts, linear)
 * must be within the limits. Validation itself is not linear — OverlappingFieldsCanBeMerged
 * compares the fields sharing a response name pairwise — so it only ever sees bounded documents.
 */
import { GraphQLError, parse, type DocumentNode } from 'graphql';
import { DocumentShapes } from './document-shape.ts';
import { limitError, shapeError, type QueryLimits } from './limits.ts';

export type Bounded =
  | { kind: 'ok'; document: DocumentNode }
  /** Over a limit: BAD_INPUT with its reason. */
  | { kind: 'refused'; error: GraphQLError }
  /** Not GraphQL: the transport answers its usual syntax error. */
  | { kind: 'syntax'; error: GraphQLError };

/** graphql-js's own message when `maxLexicalTokens` is reached (language/parser.ts, advanceLexer). */
const TOKEN_LIMIT = /^Syntax Error: Document contains more th[ae]t \d+ tokens\. Parsing aborted\.$/;

/** Whether a parse error is the token limit (so error mappings can give it its reason). */
export function isTokenLimitError(message: string): boolean {
  return TOKEN_LIMIT.test(message);
}

export function tooManyTokens(limits: QueryLimits): GraphQLError {
  return limitError(`Query has more than ${limits.maxTokens} tokens`, 'too_many_tokens');
}

/**
 * Verdicts by document text, per limits object: clients send the same few documents again and
 * again, and parsing each one here (Apollo parses it again, from its own cache) was a visible share
 * of a listing's CPU (issue 21 profile). The verdict is a pure function of the text and the
 * limits; a syntax error is not kept (it is cheap, and garbage should not fill the map). Bounded
 * in entries and in the length of a kept text.
 */
const VERDICTS_MAX = 500;
const VERDICT_SOURCE_MAX = 16 * 1024;
const verdicts = new WeakMap<QueryLimits, Map<string, Bounded>>();

export function boundDocument(source: string, limits: QueryLimits): Bounded {
  let byText = verdicts.get(limits);
  if (!byText) verdicts.set(limits, (byText = new Map()));
  const known = byText.get(source);
  if (known) return known;
  const verdict = boundUncached(source, limits);
  if (verdict.kind !== 'syntax' && source.length <= VERDICT_SOURCE_MAX) {
    if (byText.size >= VERDICTS_MAX) byText.delete(byText.keys().next().value as string);
    byText.set(source, verdict);
  }
  return verdict;
}

function boundUncached(source: string, limits: QueryLimits): Bounded {
  let document: DocumentNode;
  try {
    document = parse(source, { maxLexicalTokens: limits.maxTokens });
  } catch (error) {
    const syntax = error instanceof GraphQLError ? error : new GraphQLError('Malformed query');
    return isTokenLimitError(syntax.message) ? { kind: 'refused', error: tooManyTokens(limits) } : { kind: 'syntax', error: syntax };
  }
  const error = shapeError(DocumentShapes.worst(document), limits);
  return error ? { kind: 'refused', error } : { kind: 'ok', document };
}
