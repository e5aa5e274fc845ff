/**
 * The floor of the API benchmark: a bare Apollo Server (the same @apollo/server, express and
 * @as-integrations/express5 versions Stratus runs) answering the benchmark's folder listing with
 * ONE SQL query through mysql2 on the same database: the page and its total (COUNT(*) OVER ()) in
 * one statement, no ORM, no service hop, no DataLoader. It checks the caller's access JWT (HS256,
 * jose, the same secret) to learn the owner, as any signed-in API must, but keeps no login state
 * (Stratus also asks Redis whether the login ended). Only the first page (no `after`) is served:
 * that is all the benchmark asks.
 *
 * `startBareApollo(databaseUrl, secret)` runs it as a child process (its CPU is its own, like the
 * Stratus server's); run directly, it reads DATABASE_URL and JWT_SECRET and prints its port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BareApollo {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

export async function startBareApollo(databaseUrl: string, secret: string): Promise<BareApollo> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SELF], {
    cwd: path.dirname(path.dirname(SELF)),
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, JWT_SECRET: secret, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bare Apollo did not start in 30 s')), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /bare-apollo on (\d+)/.exec(chunk.toString());
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`bare Apollo exited with ${code}`)));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('bare Apollo has no pid');
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const typeDefs = `#graphql
  type File { id: ID! name: String! size: Float! contentHash: String mimeType: String isFolder: Boolean! updatedAt: String!
    children(first: Int, after: String): FileConnection! }
  type FileEdge { cursor: String! node: File! }
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type FileConnection { edges: [FileEdge!]! pageInfo: PageInfo! totalCount: Int! }
  type Query { folder(id: ID): File! }
`;

const LISTING = `select id, name, size, content_hash, mime_type, is_folder, updated_at, count(*) over () as total
  from files where owner_id = ? and parent_id = ? and trash_key = '' order by is_folder desc, name_key asc, id asc limit ?`;

interface Row {
  id: string;
  name: string;
  size: number | string;
  content_hash: string | null;
  mime_type: string | null;
  is_folder: number;
  updated_at: Date;
  total: number | string;
}

async function main(): Promise<void> {
  const [{ ApolloServer }, { expressMiddleware }, { default: express }, { createPool }, { jwtVerify }] = await Promise.all([
    import('@apollo/server'), import('@as-integrations/express5'), import('express'), import('mysql2/promise'), import('jose'),
  ]);
  const pool = createPool({ uri: process.env.DATABASE_URL ?? '', connectionLimit: 10 });
  const secret = new TextEncoder().encode(process.env.JWT_SECRET ?? '');
  interface Ctx { owner: string }
  const resolvers = {
    Query: { folder: (_: unknown, args: { id?: string | null }, ctx: Ctx) => ({ id: args.id ?? ctx.owner, owner: ctx.owner }) },
    File: {
      children: async (folder: { id: string; owner: string }, args: { first?: number | null }) => {
        const first = Math.min(args.first ?? 50, 500);
        const [rows] = await pool.query(LISTING, [folder.owner, folder.id, first + 1]);
        const list = rows as Row[];
        const edges = list.slice(0, first).map((r) => ({
          cursor: Buffer.from(JSON.stringify({ f: r.is_folder === 1, v: r.name, id: r.id })).toString('base64url'),
          node: { id: r.id, name: r.name, size: Number(r.size), contentHash: r.content_hash, mimeType: r.mime_type, isFolder: r.is_folder === 1, updatedAt: r.updated_at.toISOString() },
        }));
        return { edges, pageInfo: { hasNextPage: list.length > first, endCursor: edges.at(-1)?.cursor ?? null }, totalCount: Number(list[0]?.total ?? 0) };
      },
    },
  };
  const apollo = new ApolloServer<Ctx>({ typeDefs, resolvers });
  await apollo.start();
  const app = express();
  app.use(
    '/graphql',
    express.json(),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], issuer: 'stratus' });
        return { owner: String(payload.sub) };
      },
    }),
  );
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`bare-apollo on ${typeof address === 'object' && address ? address.port : 0}\n`);
  });
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void apollo.stop().then(() => pool.end()).then(() => process.exit(0));
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) void main();
