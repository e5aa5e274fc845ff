/**
 * Every operation over graphql-ws, as a client whose only link is the WebSocket (or Apollo
 * Client's split link) sends it: queries, mutations and subscriptions run with the identity the
 * connection signed in with (`connectionParams.authorization`, as web/src/api.ts sends it); an
 * anonymous connection is served like an anonymous HTTP request (public operations work,
 * protected ones answer UNAUTHENTICATED); a credential that does not verify closes the socket
 * with 4403. Real stack: the all-in-one app on MariaDB, Redis and Ceph.
 */
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../support/app.ts';
import { runOverWs, type WsResult } from '../support/ws.ts';
import { gql } from '../support/graphql.ts';

let t: TestApp;
let alice: { token: string; userId: string };
let bob: { token: string; userId: string };
const clients: Client[] = [];

beforeAll(async () => {
  t = await startTestApp();
  [alice, bob] = [await t.signUp(), await t.signUp()];
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await t?.close();
});

function socket(connectionParams: Record<string, unknown>, closes: number[] = []): Client {
  const client = createClient({
    url: `${t.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams,
    on: { closed: (event) => closes.push((event as { code: number }).code) },
  });
  clients.push(client);
  return client;
}

type Result<T> = WsResult<T>;
const run = runOverWs;

const codeOf = (r: Result<unknown>) => r.errors?.[0]?.extensions?.code;

describe('graphql-ws: queries and mutations with the connection identity', () => {
  it('answers me, a folder listing and nested lookups for the signed-in connection', async () => {
    const ws = socket({ authorization: `Bearer ${alice.token}` });
    const res = await run<{ me: { id: string }; folder: { id: string; children: { edges: unknown[] } } }>(ws, '{ me { id username } folder { id name children { edges { node { id } } } } }');
    expect(res.errors).toBeUndefined();
    expect(res.data?.me.id).toBe(alice.userId);
    expect(res.data?.folder.children.edges).toEqual([]);
  });

  it('runs a mutation as the connection, visible to the same person over HTTP and to nobody else', async () => {
    const ws = socket({ authorization: `Bearer ${alice.token}` });
    const created = await run<{ createFolder: { id: string; name: string; parentId: string } }>(ws, 'mutation($n: String!) { createFolder(name: $n) { id name parentId } }', { n: 'over the socket' });
    expect(created.errors).toBeUndefined();
    const folder = created.data!.createFolder;
    expect(folder.name).toBe('over the socket');

    // Field resolvers that go through the per-operation DataLoader and the files service.
    const looked = await run<{ file: { id: string; parent: { id: string } | null } }>(ws, 'query($id: ID!) { file(id: $id) { id parent { id } ancestors { id } } }', { id: folder.id });
    expect(looked.errors).toBeUndefined();
    expect(looked.data?.file.parent?.id).toBe(folder.parentId);

    const http = await gql<{ folder: { children: { edges: { node: { id: string } }[] } } }>(t.url, '{ folder { children { edges { node { id } } } } }', {}, alice.token);
    expect(http.data?.folder.children.edges.map((e) => e.node.id)).toEqual([folder.id]);

    const other = await run(socket({ authorization: `Bearer ${bob.token}` }), 'query($id: ID!) { file(id: $id) { id } }', { id: folder.id });
    expect(codeOf(other)).toBe('NOT_FOUND');
  });

  it('keeps each connection to its own identity when two people share the server', async () => {
    const [a, b] = [socket({ authorization: alice.token }), socket({ authorization: `Bearer ${bob.token}` })];
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => run<{ me: { id: string } }>(i % 2 ? b : a, '{ me { id } }')));
    expect(answers.map((r) => r.data?.me.id)).toEqual(Array.from({ length: 6 }, (_, i) => (i % 2 ? bob.userId : alice.userId)));
  });

  it('streams a subscription on the same signed-in connection', async () => {
    const ws = socket({ authorization: `Bearer ${alice.token}` });
    const first = await new Promise<Result<{ heartbeat: { userId: string } }>>((resolve, reject) => {
      const stop = ws.subscribe<{ heartbeat: { userId: string } }>({ query: 'subscription { heartbeat(intervalMs: 100) { userId } }' }, {
        next: (value) => {
          stop();
          resolve(value);
        },
        error: reject,
        complete: () => undefined,
      });
    });
    expect(first.data?.heartbeat.userId).toBe(alice.userId);
  });
});

describe('graphql-ws: anonymous and refused connections', () => {
  it('serves an anonymous connection like an anonymous HTTP request: UNAUTHENTICATED for protected fields, public mutations work', async () => {
    const ws = socket({});
    for (const query of ['{ me { id } }', '{ folder { id } }', 'mutation { createFolder(name: "x") { id } }']) {
      const res = await run(ws, query);
      expect(codeOf(res), query).toBe('UNAUTHENTICATED');
      expect(res.data ?? null, query).toBeNull();
    }
    const sub = await run(ws, 'subscription { heartbeat(intervalMs: 100) { userId } }');
    expect(codeOf(sub)).toBe('UNAUTHENTICATED');

    // Signing in is public: it works over the anonymous socket (a WebSocket-only client).
    const name = (await gql<{ me: { username: string } }>(t.url, '{ me { username } }', {}, alice.token)).data!.me.username;
    const login = await run<{ login: { accessToken: string; user: { id: string } } }>(ws, 'mutation($u: String!) { login(username: $u, password: "a-good-password-1") { accessToken user { id } } }', { u: name });
    expect(login.errors).toBeUndefined();
    expect(login.data?.login.user.id).toBe(alice.userId);
  });

  it('answers a malformed or invalid operation with BAD_INPUT for that operation only; the socket stays usable', async () => {
    const closes: number[] = [];
    const ws = socket({ authorization: `Bearer ${alice.token}` }, closes);
    const syntax = await run(ws, '{ me { id ');
    expect(codeOf(syntax)).toBe('BAD_INPUT');
    const unknown = await run(ws, '{ nope }');
    expect(codeOf(unknown)).toBe('BAD_INPUT');
    const deep = await run(ws, `{ folder { ${'children { edges { node { '.repeat(5)}id${' } } }'.repeat(5)} } }`);
    expect(deep.errors?.[0]?.extensions?.details).toEqual({ reason: 'query_too_deep' });
    expect((await run<{ me: { id: string } }>(ws, '{ me { id } }')).data?.me.id).toBe(alice.userId);
    expect(closes).toEqual([]);
  });

  it('closes a connection whose credential does not verify with 4403, as HTTP answers 401', async () => {
    const [h, p] = alice.token.split('.');
    for (const authorization of [`Bearer ${h}.${p}.AAAA`, 'Bearer not-a-token', 'Basic Zm9vOmJhcg==']) {
      const closes: number[] = [];
      await expect(run(socket({ authorization }, closes), '{ __typename }'), authorization).rejects.toThrow('socket closed: 4403');
      expect(closes, authorization).toEqual([4403]);
    }
  });
});
