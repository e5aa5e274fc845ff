/**
 * The README's table "From GraphQL operation to service", computed from the code so it stays
 * true: each Query/Mutation/Subscription field of schema.graphql → the resolver file defining it →
 * the tRPC procedures its resolver calls (`ctx.clients.<service>.<procedure>`) and the gateway
 * functions it takes from internal/ → the service method each procedure calls (read from the
 * service's router). `npm run codegen` writes it between the markers; codegen:check compares.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildSchema } from 'graphql';

export const TABLE_START = '<!-- operation-table:start (npm run codegen writes this table) -->';
export const TABLE_END = '<!-- operation-table:end -->';

const RESOLVERS_DIR = 'api/graphql/resolvers';
/** The router file of each client path (a nested router answers under its parent's name). */
const ROUTERS: Record<string, string> = {
  accounts: 'internal/accounts/accounts.router.ts',
  'accounts.accessTokens': 'internal/accounts/access-tokens.router.ts',
  files: 'internal/files/files.router.ts',
  'files.shares': 'internal/files/shares.router.ts',
  'files.downloadLinks': 'internal/files/download-links.router.ts',
  'files.activity': 'internal/activity/activity.router.ts',
  'files.versions': 'internal/files/versions/versions.router.ts',
  uploads: 'internal/uploads/uploads.router.ts',
  'uploads.links': 'internal/uploads/upload-links/upload-links.router.ts',
  transfer: 'internal/transfer/transfer.router.ts',
};

type Fn = (...args: never[]) => unknown;
type ResolverMap = Partial<Record<'Query' | 'Mutation' | 'Subscription', Record<string, Fn | { subscribe: Fn }>>>;

interface Row {
  operation: string;
  file: string;
  procedures: string[];
  gateway: string[];
}

/** Which resolver file defines each root field, and the source text of its resolver. */
async function resolverSources(root: string): Promise<Map<string, { file: string; source: string; internalNames: string[] }>> {
  const found = new Map<string, { file: string; source: string; internalNames: string[] }>();
  const files = (await readdir(path.join(root, RESOLVERS_DIR))).filter((f) => f.endsWith('.resolvers.ts')).sort();
  for (const name of files) {
    const file = `${RESOLVERS_DIR}/${name}`;
    const text = await readFile(path.join(root, file), 'utf8');
    const internalNames = [...text.matchAll(/^import \{([^}]*)\} from '(?:\.\.\/)+internal\/[^']+';$/gm)].flatMap((m) =>
      (m[1] ?? '').split(',').map((s) => s.trim()).filter((s) => s && !s.startsWith('type ')),
    );
    const mod = (await import(path.join(root, file))) as Record<string, ResolverMap>;
    for (const resolvers of Object.values(mod)) {
      for (const type of ['Query', 'Mutation', 'Subscription'] as const) {
        for (const [field, resolver] of Object.entries(resolvers?.[type] ?? {})) {
          const fn = typeof resolver === 'function' ? resolver : resolver.subscribe;
          found.set(`${type}.${field}`, { file, source: String(fn), internalNames });
        }
      }
    }
  }
  return found;
}

/** `files.shares.list` → `SharesService.list`: the service calls in the router's procedure, in order. */
function serviceMethods(routerText: string, procedure: string): string[] {
  const params = /export function \w+Router\(([^)]*)\)/.exec(routerText)?.[1] ?? '';
  const types = new Map(params.split(',').map((p) => p.split(':').map((s) => s.trim()) as [string, string]));
  const start = new RegExp(`^ {4}${procedure}: `, 'm').exec(routerText);
  if (!start) return [];
  const rest = routerText.slice(start.index + start[0].length);
  const end = /^ {4}\w+: |^ {2}\}\);/m.exec(rest);
  const body = end ? rest.slice(0, end.index) : rest;
  const names = [...types.keys()].join('|');
  const calls = [...body.matchAll(new RegExp(`\\b(${names})\\.(\\w+)\\(`, 'g'))];
  return [...new Set(calls.map((c) => `${types.get(c[1] ?? '') ?? c[1]}.${c[2]}`))];
}

async function methodsOf(root: string, procedurePath: string): Promise<string[]> {
  const parts = procedurePath.split('.');
  const procedure = parts.pop() ?? '';
  const routerFile = ROUTERS[parts.join('.')];
  if (!routerFile) throw new Error(`no router file known for ${procedurePath} (scripts/codegen/operation-table.ts, ROUTERS)`);
  return serviceMethods(await readFile(path.join(root, routerFile), 'utf8'), procedure);
}

export async function operationRows(root: string): Promise<Row[]> {
  const schema = buildSchema(await readFile(path.join(root, 'schema.graphql'), 'utf8'));
  const sources = await resolverSources(root);
  const rows: Row[] = [];
  for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    for (const field of Object.keys(type?.getFields() ?? {})) {
      const operation = `${type?.name ?? ''}.${field}`;
      const found = sources.get(operation);
      if (!found) throw new Error(`${operation} has no resolver in ${RESOLVERS_DIR}`);
      const procedures = [...new Set([...found.source.matchAll(/ctx\.clients\.([\w.]+)\.(?:query|mutate)\(/g)].map((m) => m[1] ?? ''))];
      // Functions of internal/ the resolver calls itself (classes such as AppError are not steps).
      // (Vitest's transform calls an import as `(0, __vi_import_0__.name)(…)`.)
      const gateway = found.internalNames.filter((n) => /^[a-z]/.test(n) && new RegExp(`\\b${n}\\)?\\(`).test(found.source));
      rows.push({ operation, file: found.file, procedures, gateway });
    }
  }
  return rows;
}

const code = (s: string) => `\`${s}\``;

export async function operationTable(root: string): Promise<string> {
  const lines = ['| Operation | Resolver | tRPC procedure | Service method |', '|---|---|---|---|'];
  for (const row of await operationRows(root)) {
    const methods = (await Promise.all(row.procedures.map((p) => methodsOf(root, p)))).flat();
    const procedures = [...row.procedures.map(code), ...row.gateway.map((g) => `${code(g)} (gateway)`)];
    lines.push(`| ${code(row.operation)} | ${code(path.basename(row.file))} | ${procedures.join(', ') || '—'} | ${methods.map(code).join(', ') || '—'} |`);
  }
  return lines.join('\n');
}

/** README.md with the table between the markers replaced by `table`. */
export function withTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md needs the markers ${TABLE_START} and ${TABLE_END}`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}
