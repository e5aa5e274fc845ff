/**
 * 5. Metadata paths:
 *    - a folder of 10 000 files on the in-process app (so `t.queries` sees every SQL statement):
 *      the first page (50, the API default) and a full walk in pages of 500 (the API maximum),
 *      latency p50/p99 and SQL statements per request;
 *    - 100 signed-in clients at once on the benchmark's server, each alternating a listing of
 *      its root and a small-file upload (GraphQL multipart): requests per second over a window.
 *    The 10 000 rows are created through the files service itself (what a completed upload
 *    commits), all pointing at one small blob: the rows matter here, not the bytes.
 */
import { randomBytes } from 'node:crypto';
import { createFiles } from '../internal/files/index.ts';
import type { Viewer } from '../internal/platform/request-context.ts';
import { uploadSmall, type TestApp } from '../test/support/app.ts';
import type { Row } from './lib/report.ts';
import { log } from './lib/stack.ts';
import { percentile, pool, round } from './lib/stats.ts';
import { blobOf, removeFile } from './lib/stratus.ts';
import type { Target, User } from './lib/target.ts';

export interface MetadataBenchOptions {
  /** The in-process app: its statement log counts SQL per request. */
  t: TestApp;
  owner: User;
  /** Where the concurrent clients run (may be the same app). */
  target: Target;
  files: number;
  clients: number;
  /** How long the concurrent clients run. */
  seconds: number;
}

interface Page {
  folder: { children: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; totalCount: number } };
}

const LIST = `query($id: ID, $first: Int, $after: String) { folder(id: $id) { children(first: $first, after: $after) {
  edges { cursor node { id name size contentHash mimeType isFolder updatedAt } } pageInfo { hasNextPage endCursor } totalCount } } }`;

async function fillFolder(t: TestApp, user: User, folderId: string, count: number): Promise<void> {
  const seed = await uploadSmall(t.url, user.token, 'seed.txt', 'one blob shared by every row', folderId, 'text/plain');
  const seedFile = seed.data?.uploadFile;
  if (!seedFile) throw new Error(`seed upload failed: ${JSON.stringify(seed.errors)}`);
  const blob = await blobOf(t, user, seedFile.id);
  const files = createFiles(t.app.runtime).service;
  const viewer: Viewer = { userId: user.userId, username: user.name, isAdmin: false };
  const names = Array.from({ length: count - 1 }, (_, i) => `file-${String(i).padStart(5, '0')}.txt`);
  const started = performance.now();
  await pool(names, 16, async (name) => {
    await files.commitFile(viewer, { parentId: folderId, name, size: seedFile.size, contentHash: seedFile.contentHash, mimeType: 'text/plain', ...blob });
  });
  log(`metadata: ${count} rows in ${round((performance.now() - started) / 1000)} s`);
}

/** One request's latency and the SQL statements the server issued for it (run alone). */
async function measured<T>(t: TestApp, fn: () => Promise<T>): Promise<{ ms: number; statements: number; value: T }> {
  const before = t.queries.length;
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, statements: t.queries.length - before, value };
}

export async function benchMetadata({ t, owner, target, files, clients, seconds }: MetadataBenchOptions): Promise<Row[]> {
  const folder = (await owner.api.gql<{ createFolder: { id: string } }>('mutation { createFolder(name: "big") { id } }')).createFolder;
  await fillFolder(t, owner, folder.id, files);
  const list = (first: number, after: string | null = null) => owner.api.gql<Page>(LIST, { id: folder.id, first, after });

  for (let i = 0; i < 10; i++) await list(50); // warm-up: connections, query plans
  const first = { ms: [] as number[], statements: [] as number[] };
  for (let i = 0; i < 200; i++) {
    const r = await measured(t, () => list(50));
    if (r.value.folder.children.totalCount !== files || r.value.folder.children.edges.length !== 50) throw new Error('first page is wrong');
    first.ms.push(round(r.ms, 2));
    first.statements.push(r.statements);
  }

  const walk = { ms: [] as number[], statements: [] as number[] };
  for (let i = 0; i < 20; i++) {
    const r = await measured(t, async () => {
      let seen = 0;
      let after: string | null = null;
      for (let page = 1; ; page++) {
        const p: Page = await list(500, after);
        seen += p.folder.children.edges.length;
        if (!p.folder.children.pageInfo.hasNextPage) return { seen, pages: page };
        after = p.folder.children.pageInfo.endCursor;
      }
    });
    if (r.value.seen !== files) throw new Error(`full walk saw ${r.value.seen} of ${files}`);
    walk.ms.push(round(r.ms, 1));
    walk.statements.push(r.statements / r.value.pages);
  }
  const pagesPerWalk = Math.ceil(files / 500);
  log(`metadata: first page p50 ${percentile(first.ms, 50)} ms, full walk p50 ${percentile(walk.ms, 50)} ms`);

  const concurrent = await manyClients(target, clients, seconds);
  return [
    {
      id: 'metadata.firstPage.p50', label: `list folder of ${files}, first page (50), p50`, value: round(percentile(first.ms, 50)), unit: 'ms',
      note: `p99 ${round(percentile(first.ms, 99))} ms; ${percentile(first.statements, 50)} SQL statements/request (max ${Math.max(...first.statements)})`, samples: first.ms,
    },
    {
      id: 'metadata.fullWalk.p50', label: `list folder of ${files}, full walk (${pagesPerWalk}×500), p50`, value: round(percentile(walk.ms, 50)), unit: 'ms',
      note: `p99 ${round(percentile(walk.ms, 99))} ms; ${round(percentile(walk.statements, 50))} SQL statements/request`, samples: walk.ms,
    },
    ...concurrent,
  ];
}

/** `clients` people at once, each alternating "list my root" and "upload a 4 KiB file". */
async function manyClients(target: Target, clients: number, seconds: number): Promise<Row[]> {
  const users: User[] = [];
  await pool(Array.from({ length: clients }), 10, async () => {
    users.push(await target.signUp());
  });
  const latencies = { list: [] as number[], upload: [] as number[] };
  const uploaded: { user: User; id: string }[] = [];
  let failures = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    users.map(async (user, u) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const at = performance.now();
        if (i % 2 === 0) {
          await user.api.gql<Page>(LIST, { id: null, first: 50, after: null });
          latencies.list.push(performance.now() - at);
        } else {
          const res = await uploadSmall(target.url, user.token, `c${u}-${i}.bin`, randomBytes(4096));
          if (res.data?.uploadFile) uploaded.push({ user, id: res.data.uploadFile.id });
          else failures++;
          latencies.upload.push(performance.now() - at);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const total = latencies.list.length + latencies.upload.length;
  const rps = round(total / elapsed);
  log(`metadata: ${clients} clients: ${rps} req/s (${latencies.list.length} lists, ${latencies.upload.length} uploads, ${failures} failed)`);
  // One person's purges one after another: concurrent purges by the same person can fail
  // (seen: INTERNAL), and cleaning up is not what is measured.
  const byUser = new Map<User, string[]>();
  for (const { user, id } of uploaded) byUser.set(user, [...(byUser.get(user) ?? []), id]);
  await pool([...byUser], 16, async ([user, ids]) => {
    for (const id of ids) await removeFile(user.api, id);
  });
  return [
    {
      id: 'metadata.clients.rps', label: `${clients} clients listing + uploading 4 KiB (${target.kind})`, value: rps, unit: 'req/s',
      note: `lists ${round(latencies.list.length / elapsed)}/s p99 ${round(percentile(latencies.list, 99))} ms; uploads ${round(latencies.upload.length / elapsed)}/s p99 ${round(percentile(latencies.upload, 99))} ms; ${failures} failed`,
    },
  ];
}
