/**
 * The WebDAV `If` request header (RFC 4918 §10.4): parsed into lists of conditions and evaluated
 * against the state (ETag, current lock tokens) of the resources it names.
 *
 *   If = "If" ":" ( 1*No-tag-list | 1*Tagged-list )
 *   No-tag-list = List
 *   Tagged-list = Resource-Tag 1*List
 *   List = "(" 1*Condition ")"
 *   Condition = ["Not"] (State-token | "[" entity-tag "]")
 *   State-token = Coded-URL ; Coded-URL = "<" absolute-URI ">"
 *   Resource-Tag = "<" Simple-ref ">"
 *
 * §10.4.3: "the header as a whole evaluates to true if at least one of the lists evaluates to
 * true"; a list is true when all of its conditions are. §10.4.2: untagged lists apply to the
 * Request-URI, tagged lists to the tagged resource. §10.4.1: a lock token that appears anywhere in
 * the header is *submitted* (whether or not its condition held); whether a write may touch a
 * locked resource depends on the submission, whether it may proceed at all on the evaluation
 * (412 Precondition Failed when false).
 */

export interface IfCondition {
  not: boolean;
  /** A state token (a lock token such as `opaquelocktoken:…`, or `DAV:no-lock` which no resource has). */
  token?: string;
  /** An entity tag as sent, quotes included (`"abc"` or `W/"abc"`). */
  etag?: string;
}

export interface IfList {
  /** The resource the list applies to (a Simple-ref: absolute URI or absolute path); null = the Request-URI. */
  resource: string | null;
  conditions: IfCondition[];
}

export class IfHeaderSyntaxError extends Error {}
/** The header ended inside a list (see parseIfHeader on cut-off headers). */
class IfHeaderCutOff extends IfHeaderSyntaxError {}

/** Bounds: a header longer than this, or with more lists/conditions, is refused as malformed. */
const MAX_HEADER = 16 * 1024;
const MAX_CONDITIONS = 256;

/** Parses an If header; throws IfHeaderSyntaxError (answered 400) on anything off the grammar. */
export function parseIfHeader(header: string): IfList[] {
  if (header.length > MAX_HEADER) throw new IfHeaderSyntaxError('If header too long');
  const scanner = new Scanner(header);
  const lists: IfList[] = [];
  let tagged: boolean | null = null;
  let resource: string | null = null;
  let count = 0;
  scanner.skipSpace();
  while (!scanner.done()) {
    if (scanner.peek() === '<') {
      if (tagged === false) throw new IfHeaderSyntaxError('tagged and untagged lists mixed');
      tagged = true;
      resource = scanner.delimited('<', '>');
      scanner.skipSpace();
      if (scanner.peek() !== '(') throw new IfHeaderSyntaxError('a resource tag must be followed by a list');
      continue;
    }
    if (tagged === null) tagged = false;
    let conditions: IfCondition[];
    try {
      conditions = parseList(scanner);
    } catch (error) {
      // Some clients cut a long header off at a fixed size (litmus at 199 bytes: two 66-byte
      // ETags and a lock token do not fit). A list the header ends inside is dropped when
      // complete lists came before: lists are alternatives (OR), so leaving one out can never
      // make the header true where it was false, and its tokens are not counted as submitted.
      if (error instanceof IfHeaderCutOff && lists.length > 0) break;
      throw error;
    }
    count += conditions.length;
    if (count > MAX_CONDITIONS) throw new IfHeaderSyntaxError('too many conditions');
    lists.push({ resource: tagged ? resource : null, conditions });
    scanner.skipSpace();
  }
  if (lists.length === 0) throw new IfHeaderSyntaxError('empty If header');
  return lists;
}

function parseList(scanner: Scanner): IfCondition[] {
  scanner.expect('(');
  const conditions: IfCondition[] = [];
  for (;;) {
    scanner.skipSpace();
    const c = scanner.peek();
    if (c === ')') break;
    let not = false;
    if (scanner.startsWithWord('Not')) {
      not = true;
      scanner.skipSpace();
    }
    const next = scanner.peek();
    if (next === '<') conditions.push({ not, token: scanner.delimited('<', '>') });
    else if (next === '[') conditions.push({ not, etag: scanner.delimited('[', ']').trim() });
    else if (next === undefined) throw new IfHeaderCutOff('the header ends inside a list');
    else throw new IfHeaderSyntaxError(`unexpected ${next} in a list`);
  }
  scanner.expect(')');
  if (conditions.length === 0) throw new IfHeaderSyntaxError('empty list');
  return conditions;
}

class Scanner {
  private at = 0;
  constructor(private readonly text: string) {}
  done(): boolean {
    return this.at >= this.text.length;
  }
  peek(): string | undefined {
    return this.text[this.at];
  }
  skipSpace(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at] ?? '')) this.at++;
  }
  expect(char: string): void {
    if (this.done()) throw new IfHeaderCutOff(`expected ${char} at the end`);
    if (this.text[this.at] !== char) throw new IfHeaderSyntaxError(`expected ${char}`);
    this.at++;
  }
  /** Case-insensitive keyword (`Not`) followed by a space or a delimiter. */
  startsWithWord(word: string): boolean {
    if (this.text.slice(this.at, this.at + word.length).toLowerCase() !== word.toLowerCase()) return false;
    const after = this.text[this.at + word.length];
    if (after !== undefined && !/[\s<[]/.test(after)) return false;
    this.at += word.length;
    return true;
  }
  delimited(open: string, close: string): string {
    this.expect(open);
    const end = this.text.indexOf(close, this.at);
    if (end < 0) throw new IfHeaderCutOff(`unclosed ${open}`);
    const value = this.text.slice(this.at, end);
    this.at = end + 1;
    if (value.length === 0) throw new IfHeaderSyntaxError(`empty ${open}${close}`);
    return value;
  }
}

/** Every state token in the header: the lock tokens the request submits (§10.4.1). */
export function submittedTokens(lists: readonly IfList[]): Set<string> {
  const tokens = new Set<string>();
  for (const list of lists) for (const c of list.conditions) if (c.token) tokens.add(c.token);
  return tokens;
}

/** What a condition is checked against: the resource's current ETag and lock tokens. */
export interface ResourceState {
  /** Quoted strong ETag, or null when the resource does not exist (or has none, e.g. a collection). */
  etag: string | null;
  /** Lock tokens of the locks that cover the resource now. */
  lockTokens: ReadonlySet<string>;
}

/** Strong comparison (RFC 9110 §8.8.3.2) — a weak tag never matches: the drive's ETags are strong. */
function etagMatches(sent: string, current: string | null): boolean {
  if (current === null || sent.startsWith('W/')) return false;
  return sent === current;
}

function conditionHolds(c: IfCondition, state: ResourceState): boolean {
  const holds = c.token !== undefined ? state.lockTokens.has(c.token) : etagMatches(c.etag ?? '', state.etag);
  return c.not ? !holds : holds;
}

/**
 * Evaluates the header. `stateOf(resource)` gives the state of a tagged list's resource (null =
 * the Request-URI). §10.4.3: true when at least one list is true.
 */
export async function evaluateIf(lists: readonly IfList[], stateOf: (resource: string | null) => Promise<ResourceState>): Promise<boolean> {
  const states = new Map<string | null, ResourceState>();
  for (const list of lists) {
    let state = states.get(list.resource);
    if (!state) {
      state = await stateOf(list.resource);
      states.set(list.resource, state);
    }
    const current = state;
    if (list.conditions.every((c) => conditionHolds(c, current))) return true;
  }
  return false;
}

/** The resources the header names (the tags), so a handler can tell whether it mentions a path at all. */
export function taggedResources(lists: readonly IfList[]): string[] {
  return [...new Set(lists.map((l) => l.resource).filter((r): r is string => r !== null))];
}
