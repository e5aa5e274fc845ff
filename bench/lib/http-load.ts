/**
 * A closed-loop HTTP load generator for the API benchmark: N clients, each sending its next request
 * as soon as the previous one answered, for a fixed time, over one keep-alive http.Agent with a
 * socket per client (no connection set-up inside the window, no queueing in the agent). Requests are
 * plain node:http with small prebuilt bodies, so the generator's CPU stays well below the server's
 * (its own CPU seconds are measured and reported beside the figures).
 */
import http from 'node:http';
import { cpuSecondsOf } from './cpu.ts';
import { percentile, round } from './stats.ts';

export interface Reply {
  status: number;
  body: string;
}

export class HttpClient {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(url: string, sockets: number) {
    this.base = new URL(url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  request(path: string, body: string | Buffer, headers: Record<string, string>): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: this.base.hostname, port: this.base.port, path, method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A GraphQL POST; throws on a transport error, an HTTP error or a GraphQL `errors` answer. */
  async gql<T>(token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const reply = await this.request('/graphql', JSON.stringify({ query, variables }), { 'content-type': 'application/json', ...auth });
    return dataOf<T>(reply);
  }

  /** `uploadFile` as a GraphQL multipart request (the spec's operations, map, then the file). */
  async upload<T>(token: string, query: string, variables: Record<string, unknown>, name: string, bytes: Buffer): Promise<T> {
    const boundary = `----stratusbench${Math.random().toString(16).slice(2)}`;
    const part = (headers: string, content: string | Buffer) => [Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), Buffer.from(content), Buffer.from('\r\n')];
    const body = Buffer.concat([
      ...part('Content-Disposition: form-data; name="operations"', JSON.stringify({ query, variables: { ...variables, f: null } })),
      ...part('Content-Disposition: form-data; name="map"', JSON.stringify({ 0: ['variables.f'] })),
      ...part(`Content-Disposition: form-data; name="0"; filename="${name}"\r\nContent-Type: application/octet-stream`, bytes),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    const reply = await this.request('/graphql', body, {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      authorization: `Bearer ${token}`,
      'apollo-require-preflight': 'true',
    });
    return dataOf<T>(reply);
  }

  close(): void {
    this.agent.destroy();
  }
}

function dataOf<T>(reply: Reply): T {
  let parsed: { data?: T | null; errors?: unknown[] };
  try {
    parsed = JSON.parse(reply.body) as typeof parsed;
  } catch {
    throw new Error(`HTTP ${reply.status}: ${reply.body.slice(0, 200)}`);
  }
  if (reply.status !== 200 || parsed.errors?.length || !parsed.data) throw new Error(`HTTP ${reply.status}: ${JSON.stringify(parsed.errors ?? parsed).slice(0, 300)}`);
  return parsed.data;
}

export interface KindStats {
  count: number;
  perSecond: number;
  p50: number;
  p99: number;
  failed: number;
}

export interface LoadResult {
  seconds: number;
  total: number;
  perSecond: number;
  byKind: Record<string, KindStats>;
  failed: number;
  /** CPU seconds of the server and of this process (the generator) during the window. */
  serverCpu: number;
  generatorCpu: number;
  firstError?: string;
}

/**
 * Runs `clients` closed loops for `seconds`; `step(client, i)` sends one request and returns its
 * kind (the latency is recorded under it). A failed request counts as failed (and its latency is
 * not a sample), and the client goes on.
 */
export async function closedLoop<C>(clients: readonly C[], seconds: number, serverPid: number, step: (client: C, i: number) => { kind: string; run: Promise<unknown> }): Promise<LoadResult> {
  const samples = new Map<string, number[]>();
  const failures = new Map<string, number>();
  let firstError: string | undefined;
  const cpu0 = { server: cpuSecondsOf(serverPid), own: cpuSecondsOf(process.pid) };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const at = performance.now();
        const { kind, run } = step(client, i);
        try {
          await run;
          const list = samples.get(kind) ?? [];
          list.push(performance.now() - at);
          samples.set(kind, list);
        } catch (error) {
          failures.set(kind, (failures.get(kind) ?? 0) + 1);
          firstError ??= `${kind}: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const kinds = new Set([...samples.keys(), ...failures.keys()]);
  const byKind: Record<string, KindStats> = {};
  for (const kind of kinds) {
    const ms = samples.get(kind) ?? [];
    byKind[kind] = { count: ms.length, perSecond: round(ms.length / elapsed), p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)), failed: failures.get(kind) ?? 0 };
  }
  const total = [...samples.values()].reduce((n, s) => n + s.length, 0);
  const failed = [...failures.values()].reduce((n, f) => n + f, 0);
  return {
    seconds: round(elapsed, 2), total, perSecond: round(total / elapsed), byKind, failed,
    serverCpu: round(cpuSecondsOf(serverPid) - cpu0.server, 2), generatorCpu: round(cpuSecondsOf(process.pid) - cpu0.own, 2),
    ...(firstError ? { firstError } : {}),
  };
}
