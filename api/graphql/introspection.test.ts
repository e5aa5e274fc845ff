/**
 * Introspection as the tools send it (GraphiQL 3.8, GraphQL Code Generator, Postman, Altair): the
 * full `getIntrospectionQuery()` with every option must pass the depth/cost limits and give a
 * usable client schema, while deep ordinary queries stay refused; in production introspection is
 * off over both transports, with a clear error. Runs the all-in-one app on the real stack.
 */
import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery } from 'graphql';
import { createClient, type FormattedExecutionResult as WsResult } from 'graphql-ws';

type FormattedExecutionResult = WsResult<Record<string, unknown>, unknown>;
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../../test/support/app.ts';
import { errorCode, gql, type GraphQLResponse } from '../../test/support/graphql.ts';

/** Every option GraphiQL 3.8 and codegen can turn on. */
const FULL_INTROSPECTION = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
});

let dev: TestApp;
let prod: TestApp;
let token: string;

beforeAll(async () => {
  [dev, prod] = await Promise.all([startTestApp(), startTestApp({ env: { NODE_ENV: 'production' } })]);
  ({ token } = await dev.signUp());
});
afterAll(async () => {
  await Promise.all([dev?.close(), prod?.close()]);
});

/** One operation over graphql-ws, signed in, as a client with only a WebSocket link sends it. */
async function overSocket(url: string, query: string, bearer?: string): Promise<FormattedExecutionResult> {
  const client = createClient({
    url: `${url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: bearer ? { authorization: `Bearer ${bearer}` } : {},
  });
  try {
    return await new Promise<FormattedExecutionResult>((resolve, reject) => {
      let result: FormattedExecutionResult | undefined;
      client.subscribe({ query }, {
        next: (value) => (result = value),
        error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error instanceof Error ? error : new Error(JSON.stringify(error)))),
        complete: () => (result ? resolve(result) : reject(new Error('no result'))),
      });
    });
  } finally {
    await client.dispose();
  }
}

const reasonOf = (res: GraphQLResponse) => res.errors?.[0]?.extensions?.details?.reason;

describe('introspection (development)', () => {
  it('answers the full standard introspection query over HTTP, and the answer builds a client schema', async () => {
    const res = await gql<IntrospectionQuery>(dev.url, FULL_INTROSPECTION);
    expect(res.errors).toBeUndefined();
    expect(res.status).toBe(200);
    const schema = buildClientSchema(res.data!);
    const fields = Object.keys(schema.getQueryType()!.getFields());
    expect(fields).toEqual(expect.arrayContaining(['me', 'folder', 'file']));
    expect(Object.keys(schema.getMutationType()!.getFields())).toContain('createFolder');
    expect(schema.getSubscriptionType()?.getFields().uploadProgress).toBeDefined();
    // The options were honoured: descriptions and @specifiedBy/isRepeatable came through.
    expect(res.data!.__schema.directives.every((d) => typeof d.isRepeatable === 'boolean')).toBe(true);
  });

  it('answers it over graphql-ws too (a client whose only link is the WebSocket)', async () => {
    const res = await overSocket(dev.url, FULL_INTROSPECTION, token);
    expect(res.errors).toBeUndefined();
    const schema = buildClientSchema(res.data as unknown as IntrospectionQuery);
    expect(Object.keys(schema.getQueryType()!.getFields())).toContain('me');
  });

  it('still refuses a deep ordinary query, also when it travels beside introspection', async () => {
    const deep = `folder { ${'children { edges { node { '.repeat(5)}id${' } } }'.repeat(5)} }`;
    for (const query of [`{ ${deep} }`, `{ __schema { queryType { name } } ${deep} }`]) {
      const res = await gql(dev.url, query, {}, token);
      expect(errorCode(res), query).toBe('BAD_INPUT');
      expect(reasonOf(res), query).toBe('query_too_deep');
      expect(res.data ?? undefined).toBeUndefined();
    }
  });

  it('refuses introspection that cycles through types (the schema bounds only the standard shape)', async () => {
    // graphql-js's MaxIntrospectionDepthRule (in specifiedRules): `fields`/`interfaces`/
    // `possibleTypes`/`inputFields` nested more than 3 deep is refused.
    const cyclic = '{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }';
    const res = await gql(dev.url, cyclic);
    expect(errorCode(res)).toBe('BAD_INPUT');
    expect(res.data ?? undefined).toBeUndefined();
    const ws = await overSocket(dev.url, cyclic, token);
    expect(ws.errors?.[0]?.extensions?.code).toBe('BAD_INPUT');
  });
});

describe('introspection (production)', () => {
  it('is refused over HTTP with a clear BAD_INPUT error, nothing of the schema leaking', async () => {
    const res = await gql(prod.url, FULL_INTROSPECTION);
    expect(errorCode(res)).toBe('BAD_INPUT');
    expect(res.errors?.[0]?.message).toMatch(/introspection/i);
    expect(res.data ?? undefined).toBeUndefined();
    expect(JSON.stringify(res)).not.toContain('UploadSession');
  });

  it('is refused over graphql-ws as well', async () => {
    // Apollo's `introspection: false` guards HTTP only; a shallow query showed the schema over WS.
    const { token: prodToken } = await prod.signUp();
    for (const query of [FULL_INTROSPECTION, '{ __schema { types { name } } }', '{ __type(name: "UploadSession") { name } }']) {
      const res = await overSocket(prod.url, query, prodToken);
      expect(res.errors?.[0]?.extensions?.code, query).toBe('BAD_INPUT');
      expect(res.errors?.[0]?.message, query).toMatch(/introspection/i);
      expect(res.data ?? undefined, query).toBeUndefined();
      expect(JSON.stringify(res), query).not.toContain('UploadSession"');
    }
  });
});
