/**
 * Client address spoofing (issue 17 item 6): `X-Forwarded-For` and `X-Real-IP` are believed only
 * from the proxies listed in TRUSTED_PROXIES (none by default), over HTTP and graphql-ws alike, and
 * the per-address limits use the address so found.
 *
 * The whole of 127/8 is loopback on Linux: each "client" connects from its own random 127.x.y.z,
 * so this run's budgets are its own even in a Redis shared with other runs. The limit observed is
 * requestEmailCode's per-client one, lowered to 3 sends an hour.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../support/app.ts';

const REQUEST = 'mutation($e: String!) { requestEmailCode(email: $e) }';
let plain: TestApp;
let proxied: TestApp;
const loopback = () => `127.${1 + (randomBytes(1)[0]! % 250)}.${randomBytes(1)[0]}.${1 + (randomBytes(1)[0]! % 250)}`;
const trustedProxy = loopback();
const email = () => `a${randomBytes(5).toString('hex')}@example.com`;
const tenNet = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;

beforeAll(async () => {
  const limits = { EMAIL_CODES_PER_CLIENT_HOUR: '3' };
  [plain, proxied] = await Promise.all([
    startTestApp({ env: limits }),
    startTestApp({ env: { ...limits, TRUSTED_PROXIES: `192.0.2.0/24, ${trustedProxy}/32` } }),
  ]);
});
afterAll(async () => {
  await Promise.all([plain?.close(), proxied?.close()]);
});

/** requestEmailCode over HTTP from local address `from`, with the given forwarding headers; the error code or 'ok'. */
function sendCode(app: TestApp, from: string, headers: Record<string, string>): Promise<string> {
  const url = new URL(`${app.url}/graphql`);
  const body = JSON.stringify({ query: REQUEST, variables: { e: email() } });
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const parsed = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
          resolve(parsed.errors?.[0]?.extensions?.code ?? 'ok');
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The same over a graphql-ws connection opened from `from` with the headers on its upgrade request. */
async function sendCodesOverWs(app: TestApp, from: string, headers: Record<string, string>, count: number): Promise<string[]> {
  class FromAddress extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { localAddress: from, headers });
    }
  }
  const client = createClient({ url: `${app.url.replace('http', 'ws')}/graphql`, webSocketImpl: FromAddress, retryAttempts: 0, lazy: true });
  const out: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const result = await new Promise<{ errors?: readonly { extensions?: { code?: unknown } }[] }>((resolve, reject) => {
        let last: { errors?: readonly { extensions?: { code?: unknown } }[] } = {};
        client.subscribe({ query: REQUEST, variables: { e: email() } }, { next: (v) => (last = v), error: reject, complete: () => resolve(last) });
      });
      out.push(String(result.errors?.[0]?.extensions?.code ?? 'ok'));
    }
  } finally {
    await client.dispose();
  }
  return out;
}

describe('client address', () => {
  it('by default X-Forwarded-For and X-Real-IP from loopback are ignored: every request counts to the socket address', async () => {
    const from = loopback();
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push(await sendCode(plain, from, { 'x-forwarded-for': tenNet(), 'x-real-ip': tenNet() }));
    expect(answers).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED']);
  });

  it('by default graphql-ws connections ignore X-Forwarded-For on the upgrade request too', async () => {
    const from = loopback();
    const answers = [
      ...(await sendCodesOverWs(plain, from, { 'x-forwarded-for': tenNet() }, 2)),
      ...(await sendCodesOverWs(plain, from, { 'x-forwarded-for': tenNet() }, 2)),
    ];
    expect(answers).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED']);
  });

  it('X-Forwarded-For is honoured from a proxy listed in TRUSTED_PROXIES, over HTTP and graphql-ws', async () => {
    // Four different forwarded clients through the trusted proxy: none limited.
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push(await sendCode(proxied, trustedProxy, { 'x-forwarded-for': tenNet() }));
    expect(answers).toEqual(['ok', 'ok', 'ok', 'ok']);
    // One forwarded client four times: its own budget, limited at the fourth.
    const client = tenNet();
    const same: string[] = [];
    for (let i = 0; i < 4; i++) same.push(await sendCode(proxied, trustedProxy, { 'x-forwarded-for': `${tenNet()}, ${client}` }));
    expect(same).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED']);
    // Over graphql-ws the forwarded address is the bucket as well.
    const wsClient = tenNet();
    expect(await sendCodesOverWs(proxied, trustedProxy, { 'x-forwarded-for': wsClient }, 4)).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED']);
  });

  it('a loopback address not in TRUSTED_PROXIES is not believed, even when another one is', async () => {
    const from = loopback();
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push(await sendCode(proxied, from, { 'x-forwarded-for': tenNet() }));
    expect(answers).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED']);
  });
});
