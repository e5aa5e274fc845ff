/**
 * What the WebDAV client tests share: the app on the real stack, a person with a personal access
 * token (the password of HTTP Basic on /dav/), and running Debian's clients (litmus, rclone) as
 * child processes. The clients come from `bash scripts/lib/dav-clients.sh` (scripts/test.sh runs it).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startTestApp, type TestApp } from '../support/app.ts';
import { gql } from '../support/graphql.ts';

export interface DavPerson {
  name: string;
  userId: string;
  /** The session JWT (GraphQL as the person). */
  session: string;
  /** A personal access token with the WRITE scope (`stp_…`). */
  pat: string;
}

export interface DavApp {
  t: TestApp;
  person: DavPerson;
  /** http://127.0.0.1:<port>/dav/ */
  davUrl: string;
  /** `Authorization: Basic` for the person's token. */
  basic: string;
}

const CREATE_TOKEN = 'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token } }';

/** Debian installs both under /usr/bin; a missing one fails the suite with the way to get it. */
export function requireClient(name: 'litmus' | 'rclone'): string {
  const bin = `/usr/bin/${name}`;
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`bash scripts/lib/dav-clients.sh\``);
  return bin;
}

export async function createAccessToken(url: string, session: string, name = 'dav client'): Promise<string> {
  const res = await gql<{ createAccessToken: { token: string } }>(url, CREATE_TOKEN, { i: { name, scopes: ['WRITE'] } }, session);
  const token = res.data?.createAccessToken.token;
  if (!token) throw new Error(`createAccessToken failed: ${JSON.stringify(res.errors)}`);
  return token;
}

export async function startDavApp(env: Record<string, string> = {}): Promise<DavApp> {
  const t = await startTestApp({ env });
  const name = `dav${Date.now().toString(36)}`;
  const { token: session, userId } = await t.signUp(name);
  const pat = await createAccessToken(t.url, session);
  const person = { name, userId, session, pat };
  return { t, person, davUrl: `${t.url}/dav/`, basic: `Basic ${Buffer.from(`${name}:${pat}`).toString('base64')}` };
}

/** MKCOL of a collection below /dav/ (201, or 405 when it exists already). */
export async function mkcol(app: DavApp, relative: string): Promise<number> {
  const res = await fetch(new URL(relative, app.davUrl), { method: 'MKCOL', headers: { authorization: app.basic } });
  await res.arrayBuffer();
  return res.status;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client to its end, collecting its output (the clients print little; litmus logs to its cwd). */
export function runClient(bin: string, args: readonly string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
