/**
 * End to end: the all-in-one server (`api/main.ts` in its own process, embedded defaults) driven
 * over HTTP and graphql-ws: register → login → me → refresh, and the gateway's guards.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { tempDir } from '../support/db.ts';
import { errorCode, gql } from '../support/graphql.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const AUTH = 'accessToken refreshToken user { id username email isAdmin }';
interface Auth {
  accessToken: string;
  refreshToken: string;
  user: { id: string; username: string; email: string; isAdmin: boolean };
}

let server: ServerProcess;
let inbox: Inbox;

beforeAll(async () => {
  inbox = await startInbox();
  server = await startServerProcess({ DATA_DIR: tempDir(), SMTP_URL: inbox.url });
});
afterAll(async () => {
  await server?.stop();
  await inbox?.close();
});

function subscribe(connectionParams: Record<string, unknown>) {
  const closes: number[] = [];
  const client = createClient({
    url: server.url.replace('http', 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    on: { closed: (event) => closes.push((event as { code: number }).code) },
  });
  const first = new Promise<unknown>((resolve, reject) => {
    client.subscribe(
      { query: 'subscription { heartbeat(intervalMs: 100) { at userId } }' },
      { next: (value) => resolve(value), error: reject, complete: () => reject(new Error('completed')) },
    );
  });
  return { client, closes, first };
}

describe('accounts end to end', () => {
  let auth: Auth;

  it('serves health, readiness, metrics and an offline GraphiQL', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { database: 'ok', kv: 'ok' } });
    expect(await (await fetch(`${server.url}/metrics`)).text()).toContain('stratus_http_request_duration_seconds');
    const page = await (await fetch(`${server.url}/graphiql`)).text();
    expect(page).not.toMatch(/https?:\/\/(?!localhost)[a-z]/i);
    for (const asset of ['react.js', 'react-dom.js', 'graphiql.js', 'graphiql.css']) {
      expect((await fetch(`${server.url}/graphiql/assets/${asset}`)).status).toBe(200);
    }
  });

  it('registers with the e-mailed code, logs in, reads me, refreshes', async () => {
    const email = 'e2e.person@example.com';
    expect((await gql(server.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email })).data).toEqual({ requestEmailCode: true });
    const code = await inbox.codeFor(email);
    const reg = await gql<{ register: Auth }>(server.url, `mutation($i: RegisterInput!) { register(input: $i) { ${AUTH} } }`, {
      i: { username: 'e2e_person', email, password: 'a-long-pass-2024', code },
    });
    expect(reg.errors).toBeUndefined();
    expect(reg.data?.register.user).toMatchObject({ username: 'e2e_person', email, isAdmin: true });

    const login = await gql<{ login: Auth }>(server.url, `mutation { login(username: "e2e_person", password: "a-long-pass-2024") { ${AUTH} } }`);
    auth = login.data!.login;
    const me = await gql<{ me: Auth['user'] }>(server.url, '{ me { id username email isAdmin } }', {}, auth.accessToken);
    expect(me.data?.me).toEqual(reg.data?.register.user);

    const refreshed = await gql<{ refreshToken: Auth }>(server.url, `mutation($t: String!) { refreshToken(refreshToken: $t) { ${AUTH} } }`, { t: auth.refreshToken });
    expect(refreshed.data?.refreshToken.refreshToken).not.toBe(auth.refreshToken);
    // Within 10 s the same client (two tabs) gets the same pair back; later it is a replay that
    // ends the login (test/security/sessions.test.ts waits that out).
    const reused = await gql<{ refreshToken: Auth }>(server.url, `mutation($t: String!) { refreshToken(refreshToken: $t) { ${AUTH} } }`, { t: auth.refreshToken });
    expect(reused.data?.refreshToken).toEqual(refreshed.data?.refreshToken);
    auth = (await gql<{ login: Auth }>(server.url, `mutation { login(username: "e2e_person", password: "a-long-pass-2024") { ${AUTH} } }`)).data!.login;
  });

  it('refuses a forged or malformed access token with 401 UNAUTHENTICATED', async () => {
    const [h, p] = auth.accessToken.split('.');
    for (const token of [`${h}.${p}.AAAA`, 'not-a-token']) {
      const res = await gql(server.url, '{ me { id } }', {}, token);
      expect(res.status).toBe(401);
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
    }
  });

  it('maps bad input to BAD_INPUT and refuses an over-deep query before running it', async () => {
    const bad = await gql(server.url, 'mutation { requestEmailCode(email: "nope") }');
    expect(errorCode(bad)).toBe('BAD_INPUT');
    const deep = `{ me { ${'... on User { '.repeat(15)}id${' }'.repeat(15)} } }`;
    // An ordinary deep query (introspection is bounded by the schema: api/graphql/introspection.test.ts).
    const nested = await gql(server.url, `{ folder { ${'children { edges { node { '.repeat(5)}id${' } } }'.repeat(5)} } }`, {}, auth.accessToken);
    expect(errorCode(nested)).toBe('BAD_INPUT');
    expect(nested.errors?.[0]?.extensions?.details?.reason).toBe('query_too_deep');
    expect(nested.data).toBeUndefined();
    expect(errorCode(await gql(server.url, deep, {}, auth.accessToken))).toBeUndefined();
  });

  it('has CSRF prevention on: a simple cross-site request is refused', async () => {
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ me { id } }')}`);
    expect(res.status).toBe(400);
  });

  it('refuses a graphql-ws subscription without a token, a forged token with 4403, and accepts a valid one', async () => {
    // Anonymous connections are served like anonymous HTTP requests (test/e2e/graphql-ws.e2e.test.ts).
    const anonymous = subscribe({});
    await expect(anonymous.first).rejects.toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
    await anonymous.client.dispose();

    const forged = subscribe({ authorization: 'Bearer forged.token.value' });
    // Refused by closing the socket with 4403 (not by an error result), and closed only that once.
    await expect(forged.first).rejects.toMatchObject({ code: 4403 });
    expect(forged.closes).toEqual([4403]);
    await forged.client.dispose();

    const signedIn = subscribe({ authorization: `Bearer ${auth.accessToken}` });
    expect(await signedIn.first).toMatchObject({ data: { heartbeat: { userId: auth.user.id } } });
    await signedIn.client.dispose();
  });
});
