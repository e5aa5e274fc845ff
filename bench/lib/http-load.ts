/**
 * The HTTP load generator of the API benchmark: N clients, either in closed loops (each sends its
 * next request as soon as the previous one answered: saturation, throughput) or paced like people
 * (a think time between requests: a fixed offered rate, latency), for a fixed time, over one
 * keep-alive http.Agent with a socket per client (no connection set-up inside the window, no queueing in the agent). Requests are
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
    // An idle socket is closed here after 4 s, before the server's keep-alive timeout (node's
    // default 5 s) closes it under a request just being sent on it (a spurious ECONNRESET).
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, timeout: 4000 });
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

/** Latencies and failures per kind over one measured window, and the CPU both processes spent in it. */
class Window {
  private readonly samples = new Map<string, number[]>();
  private readonly failures = new Map<string, number>();
  private firstError: string | undefined;
  private readonly cpu0: { server: number; own: number };
  readonly started = performance.now();

  constructor(private readonly serverPid: number) {
    this.cpu0 = { server: cpuSecondsOf(serverPid), own: cpuSecondsOf(process.pid) };
  }

  /** Sends one request and records its latency (from the moment it is sent) under its kind. */
  async send(step: () => { kind: string; run: Promise<unknown> }): Promise<void> {
    const at = performance.now();
    const { kind, run } = step();
    try {
      await run;
      const list = this.samples.get(kind) ?? [];
      list.push(performance.now() - at);
      this.samples.set(kind, list);
    } catch (error) {
      this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
      this.firstError ??= `${kind}: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  result(): LoadResult {
    const elapsed = (performance.now() - this.started) / 1000;
    const kinds = new Set([...this.samples.keys(), ...this.failures.keys()]);
    const byKind: Record<string, KindStats> = {};
    for (const kind of kinds) {
      const ms = this.samples.get(kind) ?? [];
      byKind[kind] = { count: ms.length, perSecond: round(ms.length / elapsed), p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)), failed: this.failures.get(kind) ?? 0 };
    }
    const total = [...this.samples.values()].reduce((n, s) => n + s.length, 0);
    const failed = [...this.failures.values()].reduce((n, f) => n + f, 0);
    return {
      seconds: round(elapsed, 2), total, perSecond: round(total / elapsed), byKind, failed,
      serverCpu: round(cpuSecondsOf(this.serverPid) - this.cpu0.server, 2), generatorCpu: round(cpuSecondsOf(process.pid) - this.cpu0.own, 2),
      ...(this.firstError ? { firstError: this.firstError } : {}),
    };
  }
}

type Step<C> = (client: C, i: number) => { kind: string; run: Promise<unknown> };

/**
 * Runs `clients` closed loops for `seconds`: each client sends its next request as soon as the
 * previous one answered (no think time), so the server is saturated and latency ≈ clients ÷
 * throughput — the phase that measures throughput, not what a person waits. A failed request counts
 * as failed (and its latency is not a sample), and the client goes on.
 */
export async function closedLoop<C>(clients: readonly C[], seconds: number, serverPid: number, step: Step<C>): Promise<LoadResult> {
  const w = new Window(serverPid);
  const deadline = w.started + seconds * 1000;
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; performance.now() < deadline; i++) await w.send(() => step(client, i));
    }),
  );
  return w.result();
}

export interface PacedResult extends LoadResult {
  /** Requests per second the clients meant to send (clients ÷ mean think time). */
  offered: number;
  /** Share of requests sent later than planned because the previous answer came after the plan. */
  lateShare: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Runs `clients` paced loops for `seconds`, each behaving like a person: it plans its next request
 * a think time (uniform in thinkMs × [1 − jitter, 1 + jitter]) after the previous one was sent, and
 * sends it then — or at once when the answer came later than the plan (a person does not click
 * again before the page answered). Clients start at random points of one think time, so N clients
 * offer N ÷ thinkMs × 1000 requests per second spread evenly; the achieved rate falls below it only
 * when answers take longer than the think time (the server did not keep up).
 */
export async function pacedLoop<C>(clients: readonly C[], seconds: number, serverPid: number, pace: { thinkMs: number; jitter: number }, step: Step<C>): Promise<PacedResult> {
  const w = new Window(serverPid);
  const deadline = w.started + seconds * 1000;
  const think = () => pace.thinkMs * (1 - pace.jitter + 2 * pace.jitter * Math.random());
  let planned = 0;
  let late = 0;
  await Promise.all(
    clients.map(async (client) => {
      let at = w.started + Math.random() * pace.thinkMs;
      for (let i = 0; at < deadline; i++) {
        await sleep(at - performance.now());
        const sent = performance.now();
        await w.send(() => step(client, i));
        const plan = sent + think();
        planned++;
        if (performance.now() > plan) late++;
        at = Math.max(plan, performance.now());
      }
    }),
  );
  return { ...w.result(), offered: round((clients.length * 1000) / pace.thinkMs), lateShare: round(late / Math.max(1, planned), 3) };
}
