/**
 * `api` step: the API under load (issue 21, item 2). Signed-in clients at once (100 and 400 by
 * default), each with its own access JWT (its own login; `accounts` people share them), in closed
 * loops over one keep-alive socket each:
 *   - listing only: `folder(id) { children(first: 50) }` of a folder of `files` files, against the
 *     Stratus server and, right after it in the same run, against a bare Apollo Server answering the
 *     same query with one SQL query on the same database (bench/bare-apollo.ts: the floor of what
 *     the stack costs); target: Stratus ≥ 0.5× the bare server's requests per second;
 *   - the mix a drive sees: 50 % listings, 20 % `file(id)`, 10 % `me { quota }`, 10 % renames,
 *     10 % 4 KiB `uploadFile`s, first in closed loops (saturation: requests per second);
 *   - the same mix paced like people (bench/lib/http-load.ts pacedLoop: a think time of `thinkMs`
 *     ± 50 % between one client's requests, so 100 clients offer ~100 requests per second): p50/p99
 *     per kind at that offered load and whether the server kept up (achieved ≥ 95 % of offered);
 *     target: listing p99 < 100 ms at 100 clients. Closed loops cannot meet a latency target: with
 *     no think time a request waits behind every other client's (latency ≈ clients ÷ throughput).
 * The folders' rows are written with SQL (what commitFile writes: one shared blob, its reference
 * count and the quota charged), so setting up takes seconds, not thousands of uploads.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { nameKey } from '../internal/files/names.ts';
import { TokenSigner } from '../internal/platform/auth/access-token.ts';
import { MAX_ACCESS_TTL_S } from '../internal/platform/auth/session-revocations.ts';
import { TEST_JWT_SECRET } from '../test/support/runtime.ts';
import { startBareApollo, type BareApollo } from './bare-apollo.ts';
import { closedLoop, HttpClient, pacedLoop, type LoadResult, type PacedResult } from './lib/http-load.ts';
import type { Row } from './lib/report.ts';
import { log } from './lib/stack.ts';
import { pool, round } from './lib/stats.ts';
import type { Target, User } from './lib/target.ts';

export interface ApiLoadOptions {
  target: Target;
  /** Client counts, each measured in turn (default 100 and 400). */
  clients: number[];
  seconds: number;
  /** People the clients belong to (each client has its own login). */
  accounts: number;
  /** Files in each person's listed folder. */
  files: number;
  /** Paced phase: each client's mean think time between requests (ms, ± half of it) and its length. */
  thinkMs: number;
  pacedSeconds: number;
}

export const LIST = `query($id: ID, $first: Int) { folder(id: $id) { children(first: $first) {
  edges { cursor node { id name size contentHash mimeType isFolder updatedAt } } pageInfo { hasNextPage endCursor } totalCount } } }`;
const GET = 'query($id: ID!) { file(id: $id) { id name size contentHash mimeType isFolder parentId updatedAt } }';
const ME = 'query { me { id username email quota { used limit reserved } } }';
const RENAME = 'mutation($id: ID!, $name: String!) { renameFile(id: $id, name: $name) { id name } }';
const UPLOAD = 'mutation($p: ID, $f: Upload!) { uploadFile(parentId: $p, file: $f) { id size } }';
/** The mix, as a cycle of ten requests (each client starts at its own place in it). */
const MIX = ['list', 'get', 'list', 'me', 'list', 'rename', 'list', 'get', 'list', 'upload'] as const;

interface Account {
  user: User;
  folderId: string;
  inboxId: string;
  fileIds: string[];
}

interface Client {
  index: number;
  token: string;
  account: Account;
  /** The file this client renames (its own, so no two clients race on one name). */
  renames: string;
}

type Kind = (typeof MIX)[number];

let counter = 0;
/** Names no earlier phase used (each phase's loop counts from 0 again). */
const unique = () => (counter++).toString(36);

async function fillFolder(databaseUrl: string, seedId: string, count: number): Promise<string[]> {
  const db = await createConnection(databaseUrl);
  try {
    const [found] = await db.query('select * from files where id = ?', [seedId]);
    const seed = (found as Record<string, unknown>[])[0];
    if (!seed) throw new Error('seed row missing');
    const folderPath = String(seed.path).slice(0, -(seedId.length + 1));
    const now = new Date();
    const rows = Array.from({ length: count }, (_, i) => {
      const id = randomUUID();
      const name = `file-${String(i).padStart(5, '0')}.txt`;
      return [id, seed.owner_id, seed.parent_id, name, nameKey(name), `${folderPath}${id}/`, 0, seed.size, seed.blob_id, seed.content_hash, seed.mime_type, '', null, null, now, now];
    });
    await db.query(
      'insert into files (id, owner_id, parent_id, name, name_key, path, is_folder, size, blob_id, content_hash, mime_type, trash_key, trashed_at, trashed_by, created_at, updated_at) values ?',
      [rows],
    );
    await db.query('update blobs set ref_count = ref_count + ? where id = ?', [count, seed.blob_id]);
    await db.query('update quotas set used_bytes = used_bytes + ? where user_id = ?', [count * Number(seed.size), seed.owner_id]);
    return rows.map((r) => String(r[0]));
  } finally {
    await db.end();
  }
}

async function setUp(http: HttpClient, target: Target, o: ApiLoadOptions): Promise<Client[]> {
  const started = performance.now();
  const accounts: Account[] = [];
  const most = Math.max(...o.clients);
  await pool(Array.from({ length: Math.min(o.accounts, most) }), 4, async () => {
    const user = await target.signUp();
    const folder = await http.gql<{ createFolder: { id: string } }>(user.token, 'mutation { createFolder(name: "listed") { id } }');
    const inbox = await http.gql<{ createFolder: { id: string } }>(user.token, 'mutation { createFolder(name: "inbox") { id } }');
    const seed = await http.upload<{ uploadFile: { id: string } }>(user.token, UPLOAD, { p: folder.createFolder.id }, 'seed.txt', Buffer.from(`the blob every row of ${user.name} shares`));
    const more = await fillFolder(target.databaseUrl, seed.uploadFile.id, o.files - 1);
    accounts.push({ user, folderId: folder.createFolder.id, inboxId: inbox.createFolder.id, fileIds: [seed.uploadFile.id, ...more] });
  });
  // Each client its own login (sid) and access JWT, signed with the server's key as `login` signs
  // them: 400 password logins would spend minutes of scrypt before anything is measured, and the
  // server verifies these exactly as it verifies a login's (signature, expiry, then whether the
  // login ended: one KV read).
  const signer = new TokenSigner(new TextEncoder().encode(TEST_JWT_SECRET));
  const clients: Client[] = await Promise.all(
    Array.from({ length: most }, async (_, index) => {
      const account = accounts[index % accounts.length] as Account;
      const viewer = { userId: account.user.userId, username: account.user.name, isAdmin: false, sessionId: randomUUID() };
      const renames = account.fileIds[Math.floor(index / accounts.length) % account.fileIds.length] as string;
      return { index, token: await signer.signAccess(viewer, MAX_ACCESS_TTL_S), account, renames };
    }),
  );
  log(`api: ${accounts.length} people with ${o.files} files each, ${clients.length} clients in ${round((performance.now() - started) / 1000)} s`);
  return clients;
}

/** One request of the mix for a client; `i` is the client's request count so far. */
function mixStep(http: HttpClient, c: Client, i: number): { kind: Kind; run: Promise<unknown> } {
  const kind = MIX[(i + c.index) % MIX.length] as Kind;
  const { account, token } = c;
  switch (kind) {
    case 'list':
      return { kind, run: http.gql(token, LIST, { id: account.folderId, first: 50 }) };
    case 'get':
      return { kind, run: http.gql(token, GET, { id: account.fileIds[(i * 7 + c.index) % account.fileIds.length] }) };
    case 'me':
      return { kind, run: http.gql(token, ME) };
    case 'rename':
      return { kind, run: http.gql(token, RENAME, { id: c.renames, name: `renamed-${c.index}-${unique()}.txt` }) };
    case 'upload':
      return { kind, run: http.upload(token, UPLOAD, { p: account.inboxId }, `up-${c.index}-${unique()}.bin`, randomBytes(4096)) };
  }
}

const listStep = (http: HttpClient) => (c: Client) => ({ kind: 'list', run: http.gql(c.token, LIST, { id: c.account.folderId, first: 50 }) });

const cpuPerRequest = (r: LoadResult) => round((1000 * r.serverCpu) / Math.max(1, r.total), 2);
const kindNote = (r: LoadResult) =>
  Object.entries(r.byKind)
    .map(([k, s]) => `${k} ${s.perSecond}/s p50 ${s.p50} p99 ${s.p99} ms${s.failed ? ` (${s.failed} failed)` : ''}`)
    .join('; ');

function checked(label: string, r: LoadResult): LoadResult {
  log(`api: ${label}: ${r.perSecond} req/s, ${kindNote(r)}; server CPU ${r.serverCpu} s, generator CPU ${r.generatorCpu} s${r.firstError ? `; first error: ${r.firstError}` : ''}`);
  if (r.failed > r.total / 100) throw new Error(`api: ${label}: ${r.failed} of ${r.total + r.failed} requests failed (${r.firstError})`);
  return r;
}

/**
 * With BENCH_PROFILE_DIR, each measured window's CLOCK_MONOTONIC bounds (the V8 profile's clock), so
 * `bench/profile/split.ts PROFILE PHASES` can split the server's profile phase by phase.
 */
const phases: { label: string; startUs: number; endUs: number }[] = [];
async function phase<T>(label: string, run: () => Promise<T>): Promise<T> {
  const startUs = Number(process.hrtime.bigint() / 1000n);
  try {
    return await run();
  } finally {
    phases.push({ label, startUs, endUs: Number(process.hrtime.bigint() / 1000n) });
    const dir = process.env.BENCH_PROFILE_DIR;
    if (dir) mkdirSync(dir, { recursive: true });
    if (dir) writeFileSync(path.join(dir, 'api-phases.json'), JSON.stringify(phases, null, 1));
  }
}

const lp = (r: LoadResult) => r.byKind.list ?? { p50: Number.NaN, p99: Number.NaN };
/** The server kept up when it answered at least 95 % of what the paced clients offered. */
const keptUp = (r: PacedResult) => r.perSecond >= 0.95 * r.offered;

function pacedRow(n: number, paced: PacedResult, o: ApiLoadOptions): Row {
  const list = lp(paced);
  const pace = `offered ${paced.offered} req/s (${n} people, ${o.thinkMs / 1000} s ± 50 % think time), achieved ${paced.perSecond} req/s (${keptUp(paced) ? 'kept up' : 'did NOT keep up'}; ${round(100 * paced.lateShare)} % of requests later than planned)`;
  return {
    id: `api.paced.c${n}.list.p99`, label: `${n} people at ~1 req/s each, mix: listing p99`, value: list.p99, unit: 'ms',
    ...(n === 100 ? { target: '< 100 ms', met: list.p99 < 100 && keptUp(paced) } : {}),
    note: `paced phase (models people: each waits a think time between requests, so latency is what one waits at that offered load): ${pace}; ${kindNote(paced)}; server CPU ${cpuPerRequest(paced)} ms/request`,
  };
}

async function measureLevel(stratus: HttpClient, bare: HttpClient, clients: Client[], o: ApiLoadOptions, servers: { stratus: number; bare: number }): Promise<Row[]> {
  const n = clients.length;
  const mixOf = (c: Client, i: number) => mixStep(stratus, c, i);
  const floor = checked(`${n} clients, bare Apollo listing`, await closedLoop(clients, o.seconds, servers.bare, listStep(bare)));
  const listing = checked(`${n} clients, Stratus listing`, await phase(`${n} clients, listing`, () => closedLoop(clients, o.seconds, servers.stratus, listStep(stratus))));
  const mix = checked(`${n} clients, Stratus mix`, await phase(`${n} clients, mix`, () => closedLoop(clients, o.seconds, servers.stratus, mixOf)));
  const paced = await phase(`${n} clients, paced mix`, () => pacedLoop(clients, o.pacedSeconds, servers.stratus, { thinkMs: o.thinkMs, jitter: 0.5 }, mixOf));
  checked(`${n} clients, Stratus paced mix (offered ${paced.offered} req/s, late ${round(100 * paced.lateShare)} %)`, paced);
  const ratio = listing.perSecond / floor.perSecond;
  const saturation = 'saturation phase (closed loops, no think time: models the most the server answers; latency there ≈ clients ÷ throughput)';
  return [
    {
      id: `api.list.c${n}.rps`, label: `${n} clients listing 50 of ${o.files} files`, value: listing.perSecond, unit: 'req/s',
      reference: { label: 'bare Apollo + 1 SQL', value: floor.perSecond }, ratio: round(ratio, 2), target: '≥ 0.5× bare', met: ratio >= 0.5,
      note: `${saturation}; p50/p99 ${lp(listing).p50}/${lp(listing).p99} ms (bare ${lp(floor).p50}/${lp(floor).p99}); server CPU ${cpuPerRequest(listing)} ms/request (bare ${cpuPerRequest(floor)}); generator CPU ${listing.generatorCpu} s in ${listing.seconds} s`,
    },
    {
      id: `api.mix.c${n}.rps`, label: `${n} clients, mix (list/get/me/rename/upload 4 KiB)`, value: mix.perSecond, unit: 'req/s',
      note: `${saturation}; ${kindNote(mix)}; server CPU ${cpuPerRequest(mix)} ms/request`,
    },
    pacedRow(n, paced, o),
  ];
}

/** Trash and purge each person's folders: their rows, quota and the uploaded blobs go. */
async function cleanUp(http: HttpClient, clients: Client[]): Promise<void> {
  const accounts = [...new Set(clients.map((c) => c.account))];
  await pool(accounts, 4, async (a) => {
    for (const id of [a.inboxId, a.folderId]) {
      await http.gql(a.user.token, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id });
      await http.gql(a.user.token, 'mutation($id: ID!) { purgeFile(id: $id) }', { id });
    }
  });
}

export async function benchApiLoad(o: ApiLoadOptions): Promise<Row[]> {
  const most = Math.max(...o.clients);
  const stratus = new HttpClient(o.target.url, most);
  let bareServer: BareApollo | undefined;
  let bare: HttpClient | undefined;
  try {
    const clients = await setUp(stratus, o.target, o);
    bareServer = await startBareApollo(o.target.databaseUrl, TEST_JWT_SECRET);
    bare = new HttpClient(bareServer.url, most);
    const servers = { stratus: o.target.pid, bare: bareServer.pid };
    // Warm-up (JIT, connection pools, the sockets of the first level): not measured.
    const first = clients.slice(0, Math.min(...o.clients));
    await closedLoop(first, 3, servers.bare, listStep(bare));
    await closedLoop(first, 3, servers.stratus, (c, i) => mixStep(stratus, c, i));
    const rows: Row[] = [];
    for (const n of o.clients) rows.push(...(await measureLevel(stratus, bare, clients.slice(0, n), o, servers)));
    const cleaning = performance.now();
    await cleanUp(stratus, clients);
    log(`api: cleaned up in ${round((performance.now() - cleaning) / 1000)} s`);
    return rows;
  } finally {
    bare?.close();
    await bareServer?.stop();
    stratus.close();
  }
}
