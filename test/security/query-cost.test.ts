/**
 * Issue 17 item 2, the cost-limit bypass: every list is priced by what it will return — `first`
 * as written, `first` from a variable by its value, the schema's default when absent, the
 * server's maximum page when unbounded, and a list without `first` (trash, shares, uploads,
 * ancestors) by its real maximum — signed in and anonymously through a public share alike. Every
 * GraphQL response, over HTTP and graphql-ws, success or error, carries
 * `extensions.cost { requested, limit }`. Real stack: the all-in-one app on MariaDB, Redis, Ceph.
 */
import { buildSchema, getNamedType, getNullableType, isCompositeType, isListType, isObjectType } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LIST_MAXIMUM } from '../../api/graphql/list-sizes.ts';
import { loadTypeDefs } from '../../api/graphql/schema.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { errorCode, type GraphQLResponse } from '../support/graphql.ts';

interface Cost {
  requested: number | null;
  limit: number;
}
type Answer = GraphQLResponse & { extensions?: { cost?: Cost } };

let t: TestApp;
let alice: { token: string; userId: string };
let folderShare: string;
const clients: Client[] = [];
const LIMIT = 20_000;

async function post(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Answer> {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}

beforeAll(async () => {
  t = await startTestApp();
  alice = await t.signUp();
  const folder = await post('mutation { createFolder(name: "shared") { id } }', {}, alice.token);
  const id = (folder.data as { createFolder: { id: string } }).createFolder.id;
  const share = await post('mutation($f: ID!) { createShare(input: { fileId: $f }) { token } }', { f: id }, alice.token);
  folderShare = (share.data as { createShare: { token: string } }).createShare.token;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await t?.close();
});

const reason = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.details?.reason;
const nest = (levels: number, first = '') =>
  `${`children${first} { edges { node { `.repeat(levels)}id${' } } }'.repeat(levels)}`;

function expectRefusedAsCostly(r: Answer, atLeast: number) {
  expect(errorCode(r)).toBe('BAD_INPUT');
  expect(reason(r)).toBe('query_too_costly');
  expect(r.data ?? undefined).toBeUndefined();
  expect(r.extensions?.cost?.limit).toBe(LIMIT);
  expect(r.extensions?.cost?.requested).toBeGreaterThanOrEqual(atLeast);
}

describe('lists are priced by what they return', () => {
  it('refuses three nested children without first: 50 × 50 × 50 nodes, signed in and through a public share', async () => {
    // 50 + 50² + 50³ = 127 550 nodes at the schema's default page (children(first: Int = 50)).
    expectRefusedAsCostly(await post(`{ folder { ${nest(3)} } }`, {}, alice.token), 127_550);
    expectRefusedAsCostly(await post(`query($t: String!) { share(token: $t) { root { ${nest(3)} } } }`, { t: folderShare }), 127_550);
    expectRefusedAsCostly(await post(`query($t: String!) { share(token: $t) { item { ${nest(3)} } } }`, { t: folderShare }), 127_550);
    // One level is an ordinary listing: accepted, priced at least at the 50 nodes it may return.
    const one = await post(`{ folder { ${nest(1)} } }`, {}, alice.token);
    expect(one.errors).toBeUndefined();
    expect(one.extensions?.cost?.requested).toBeGreaterThanOrEqual(50);
    expect(one.extensions?.cost?.requested).toBeLessThanOrEqual(LIMIT);
  });

  it('prices first given as a variable by its value, and by the schema default when the variable is absent', async () => {
    const viaVars = `query($n: Int) { folder { ${nest(3, '(first: $n)')} } }`;
    const small = await post(viaVars, { n: 2 }, alice.token);
    expect(small.errors).toBeUndefined();
    expect(small.data).toBeTruthy();
    expect(small.extensions?.cost?.requested).toBeLessThan(100);
    expectRefusedAsCostly(await post(viaVars, { n: 100 }, alice.token), 1_010_100);
    // Absent: the argument's default (50) applies, as it will when the query runs.
    expectRefusedAsCostly(await post(viaVars, {}, alice.token), 127_550);
    // A variable's own default counts too.
    const defaulted = await post(`query($n: Int = 3) { folder { ${nest(3, '(first: $n)')} } }`, {}, alice.token);
    expect(defaulted.errors).toBeUndefined();
    // Explicit null is unbounded: priced at the server's maximum page (500).
    expectRefusedAsCostly(await post(viaVars, { n: null }, alice.token), 500 ** 3);
  });

  it('prices plain lists (trash, shares, uploads, ancestors) at their real maximum, not at one item', async () => {
    // trash and shares return up to 1000 items, each listing 50 children.
    expectRefusedAsCostly(await post(`{ trash { ${nest(1)} } }`, {}, alice.token), 50_000);
    expectRefusedAsCostly(await post(`{ shares { file { ${nest(1)} } } }`, {}, alice.token), 50_000);
    // uploads (up to 200 sessions) × 500 children of each file.
    expectRefusedAsCostly(await post(`{ uploads { file { ${nest(1, "(first: 500)")} } } }`, {}, alice.token), 100_000);
    // ancestors (up to 64 folders) × 500 children each.
    expectRefusedAsCostly(await post(`{ folder { ancestors { ${nest(1, '(first: 500)')} } } }`, {}, alice.token), 32_000);
    // What the web app and the CLI ask stays within the limit.
    for (const query of ['{ trash { id name size contentHash mimeType isFolder parentId createdAt updatedAt trashedAt } }',
      '{ uploads { id status name parentId size chunkSize chunkCount contentHash uploadedChunks missingChunks uploadedBytes challenge { nonce ranges { offset length } } file { id name size contentHash mimeType } failureReason } }',
      '{ shares { id token url fileId expiresAt maxDownloads downloads hasPassword createdAt } }']) {
      const r = await post(query, {}, alice.token);
      expect(r.errors, query).toBeUndefined();
    }
  });
});

describe('every list of the schema has a known size', () => {
  it('is paged by first (its own or its connection\'s) or listed in LIST_MAXIMUM', () => {
    const schema = buildSchema(loadTypeDefs());
    // Introspection types (__Schema…) are bounded by the schema itself.
    const types = Object.values(schema.getTypeMap()).filter(isObjectType).filter((type) => !type.name.startsWith('__'));
    const fields = types.flatMap((type) => Object.values(type.getFields()).map((field) => ({ type, field })));
    // Types returned by a field with `first`: their lists are sized by it (edges, jobs).
    const paged = new Set(fields.filter(({ field }) => field.args.some((a) => a.name === 'first')).map(({ field }) => getNamedType(field.type).name));
    const unknown = fields
      .filter(({ field }) => isListType(getNullableType(field.type)) && isCompositeType(getNamedType(field.type)))
      .filter(({ type, field }) => !field.args.some((a) => a.name === 'first') && !paged.has(type.name) && !LIST_MAXIMUM.has(`${type.name}.${field.name}`))
      .map(({ type, field }) => `${type.name}.${field.name}`);
    expect(unknown).toEqual([]);
  });
});

function socket(): Client {
  const client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${alice.token}` } });
  clients.push(client);
  return client;
}

function run(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<FormattedExecutionResult<Record<string, unknown>, unknown>> {
  return new Promise((resolve, reject) => {
    let last: FormattedExecutionResult<Record<string, unknown>, unknown> | undefined;
    client.subscribe<Record<string, unknown>, unknown>({ query, variables }, {
      next: (value) => (last = value),
      error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(new Error('socket failed'))),
      complete: () => (last ? resolve(last) : reject(new Error('completed without a result'))),
    });
  });
}

describe('extensions.cost { requested limit } on every response', () => {
  it('over HTTP: a normal query, a refused one, a malformed one and a bad token', async () => {
    const normal = await post('{ me { id } }', {}, alice.token);
    expect(normal.extensions?.cost).toEqual({ requested: 2, limit: LIMIT });
    const anonymous = await post('{ __typename }');
    expect(anonymous.extensions?.cost).toEqual({ requested: 1, limit: LIMIT });
    const refused = await post(`{ folder { ${nest(3)} } }`, {}, alice.token);
    expect(refused.extensions?.cost?.requested).toBeGreaterThan(LIMIT);
    // Not priced (refused before analysis): requested is null, the limit still said.
    for (const r of [await post('{ me { id '), await post('{ nope }'), await post('{ me { id } }', {}, 'not-a-token')]) {
      expect(r.errors?.length).toBeGreaterThan(0);
      expect(r.extensions?.cost).toEqual({ requested: null, limit: LIMIT });
    }
  });

  it('over graphql-ws: on a result, and on every error of a refused operation', async () => {
    const ws = socket();
    const ok = await run(ws, '{ me { id } }');
    expect(ok.errors).toBeUndefined();
    expect((ok.extensions as { cost?: Cost } | undefined)?.cost).toEqual({ requested: 2, limit: LIMIT });
    const viaVars = `query($n: Int) { folder { ${nest(3, '(first: $n)')} } }`;
    const small = await run(ws, viaVars, { n: 2 });
    expect(small.errors).toBeUndefined();
    const refused = await run(ws, viaVars, { n: 500 });
    expect(refused.errors?.[0]?.extensions?.details).toEqual({ reason: 'query_too_costly' });
    const cost = refused.errors?.[0]?.extensions?.cost as Cost | undefined;
    expect(cost?.limit).toBe(LIMIT);
    expect(cost?.requested).toBeGreaterThan(500 ** 3);
  });
});
