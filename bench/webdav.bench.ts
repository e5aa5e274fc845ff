/**
 * 6. WebDAV upload throughput (issue 19, item 4): one 1 GiB file copied by rclone (Debian's, a
 *    `webdav` remote with a personal access token: one streamed PUT) against the same file through
 *    `stratus upload` (the CLI as people run it: node bin/stratus.mjs, 4 chunks in flight, instant
 *    upload off), back to back in each repetition. Target: WebDAV ≥ 0.8× the CLI.
 *    Each repetition uses a new seed and each copy is trashed, purged and garbage-collected before
 *    the next, so no content is ever known to Stratus (no dedup on either side).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { testEnv } from '../test/support/env.ts';
import { tempDir } from '../test/support/db.ts';
import { createAccessToken } from '../test/dav/dav-harness.ts';
import type { Row } from './lib/report.ts';
import { describeDisk, log, rgwGc, tempFile } from './lib/stack.ts';
import { median, mibPerSecond, round, sizeLabel } from './lib/stats.ts';
import { removeFile } from './lib/stratus.ts';
import type { Target, User } from './lib/target.ts';

export interface WebdavBenchOptions {
  target: Target;
  user: User;
  size: number;
  reps: number;
}

const RCLONE = '/usr/bin/rclone';
const STRATUS = path.join(testEnv.root, 'bin/stratus.mjs');

function run(bin: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${path.basename(bin)} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

/** The rclone remote `stratus:` through RCLONE_CONFIG_STRATUS_* only (an empty config file). */
async function rcloneEnv(target: Target, user: User, dir: string): Promise<Record<string, string>> {
  const pat = await createAccessToken(target.url, user.token, 'bench rclone');
  const pass = (await run(RCLONE, ['obscure', pat], {})).trim();
  writeFileSync(path.join(dir, 'rclone.conf'), '');
  return {
    RCLONE_CONFIG: path.join(dir, 'rclone.conf'),
    RCLONE_CONFIG_STRATUS_TYPE: 'webdav', RCLONE_CONFIG_STRATUS_URL: `${target.url}/dav/`, RCLONE_CONFIG_STRATUS_VENDOR: 'other',
    RCLONE_CONFIG_STRATUS_USER: user.name, RCLONE_CONFIG_STRATUS_PASS: pass,
  };
}

async function rootFile(user: User, name: string): Promise<{ id: string; size: number }> {
  const data = await user.api.gql<{ folder: { children: { edges: { node: { id: string; name: string; size: number } }[] } } }>(
    'query { folder { children(first: 500) { edges { node { id name size } } } } }',
  );
  const node = data.folder.children.edges.find((e) => e.node.name === name)?.node;
  if (!node) throw new Error(`${name} is not in the drive after the upload`);
  return node;
}

async function rcloneOnce(user: User, env: Record<string, string>, file: string, size: number, name: string): Promise<number> {
  const started = performance.now();
  await run(RCLONE, ['copyto', file, `stratus:${name}`, '--retries', '1', '--low-level-retries', '1'], env);
  const ms = performance.now() - started;
  const stored = await rootFile(user, name);
  if (stored.size !== size) throw new Error(`rclone stored ${stored.size} bytes of ${size}`);
  await removeFile(user.api, stored.id);
  await rgwGc();
  return ms;
}

async function cliOnce(target: Target, user: User, env: Record<string, string>, file: string, size: number): Promise<number> {
  const started = performance.now();
  const out = await run(process.execPath, [STRATUS, 'upload', file, '--no-instant', '--json'], { ...env, STRATUS_URL: target.url, STRATUS_TOKEN: user.token });
  const ms = performance.now() - started;
  const report = JSON.parse(out) as { file: { id: string; size: number } };
  if (report.file.size !== size) throw new Error(`stratus upload stored ${report.file.size} bytes of ${size}`);
  await removeFile(user.api, report.file.id);
  await rgwGc();
  return ms;
}

export async function benchWebdav({ target, user, size, reps }: WebdavBenchOptions): Promise<Row[]> {
  const dir = tempDir('stratus-bench-webdav-');
  const xdg = { XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_STATE_HOME: path.join(dir, 'state') };
  mkdirSync(xdg.XDG_CONFIG_HOME);
  mkdirSync(xdg.XDG_STATE_HOME);
  const env = await rcloneEnv(target, user, dir);
  const dav: number[] = [];
  const cli: number[] = [];
  const ratios: number[] = [];
  try {
    for (let rep = 0; rep < reps; rep++) {
      const seed = `bench-webdav-${rep}-${Date.now()}`;
      const fixture = await tempFile(`${seed}.bin`, size, seed);
      try {
        const d = mibPerSecond(size, await rcloneOnce(user, env, fixture.file, size, `${seed}.bin`));
        const c = mibPerSecond(size, await cliOnce(target, user, xdg, fixture.file, size));
        dav.push(round(d));
        cli.push(round(c));
        // Paired: the two uploads ran back to back, so the cluster's slow drift hits both alike.
        ratios.push(d / c);
        log(`webdav rep ${rep + 1}/${reps}: rclone ${round(d)} MiB/s, stratus upload ${round(c)} MiB/s; ${await describeDisk()}`);
      } finally {
        fixture.remove();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ratio = round(median(ratios), 2);
  return [
    {
      id: 'webdav.rclone-vs-cli', label: `upload ${sizeLabel(size)} rclone over WebDAV vs stratus upload`, value: round(median(dav)), unit: 'MiB/s',
      reference: { label: 'stratus upload (CLI, 4 parallel)', value: round(median(cli)) }, ratio, target: '≥0.8× CLI', met: ratio >= 0.8,
      note: `rclone copyto (one streamed PUT); median of ${ratios.length} paired (${ratios.map((x) => x.toFixed(2)).join(' ')})`, samples: dav,
    },
  ];
}
