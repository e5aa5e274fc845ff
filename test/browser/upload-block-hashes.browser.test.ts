/**
 * The web app's upload worker sends each 4 MiB block's SHA-256 with createUpload (blockHashes,
 * beside contentHash), so the server can check every chunk as it arrives. Real Chromium
 * (playwright-core) against the all-in-one server as a child process on embedded defaults.
 *
 * Needs /usr/bin/chromium; builds web/dist when it is missing or older than web/src.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combineBlockDigests } from '../../internal/files/content-hash.ts';
import { tempDir } from '../support/db.ts';
import { testEnv } from '../support/env.ts';
import { makeFile } from '../support/files.ts';
import { gql } from '../support/graphql.ts';
import { launchChromium, signIn } from '../support/browser.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const MiB = 1024 * 1024;
const BLOCK = 4 * MiB;
const PASSWORD = 'Correct-Horse-42';

let server: ServerProcess;
let inbox: Inbox;
let browser: Browser;
let username: string;

function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const full = path.join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }, 0);
}

beforeAll(async () => {
  const dist = path.join(testEnv.root, 'web/dist/index.html');
  if (!existsSync(dist) || statSync(dist).mtimeMs < newest(path.join(testEnv.root, 'web/src'))) {
    execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: testEnv.root, stdio: 'inherit' });
  }
  inbox = await startInbox();
  server = await startServerProcess({ DATA_DIR: tempDir('stratus-bh-'), SMTP_URL: inbox.url }, 60_000);
  username = `bh${randomBytes(3).toString('hex')}`;
  const email = `${username}@example.com`;
  await gql(server.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
  const code = await inbox.codeFor(email, 15_000);
  const reg = await gql(server.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', { i: { username, email, password: PASSWORD, code } });
  if (!reg.data) throw new Error(JSON.stringify(reg.errors));
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await inbox?.close();
});

describe('uploading from the web app', { timeout: 120_000 }, () => {
  it('sends blockHashes (each 4 MiB block, in order) with contentHash, and the upload completes', async () => {
    const file = await makeFile('blocks.bin', 9 * MiB + 5, `blocks-${username}`);
    const bytes = readFileSync(file);
    const digests: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += BLOCK) digests.push(createHash('sha256').update(bytes.subarray(at, at + BLOCK)).digest());

    const context = await browser.newContext({ baseURL: server.url });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const creates: { contentHash?: string; blockHashes?: string[] }[] = [];
    page.on('request', (request) => {
      const body = request.method() === 'POST' && new URL(request.url()).pathname === '/graphql' ? request.postData() : null;
      if (body?.includes('createUpload')) creates.push((JSON.parse(body) as { variables: { i: { contentHash?: string; blockHashes?: string[] } } }).variables.i);
    });
    await signIn(page, username, PASSWORD);
    await page.getByText('This folder is empty.').waitFor();
    await page.getByLabel('Choose files to upload').setInputFiles(file);
    await page.getByRole('button', { name: 'Download blocks.bin' }).waitFor({ timeout: 60_000 });
    for (let i = 0; i < 50 && creates.length === 0; i++) await sleep(20);

    expect(creates).toHaveLength(1);
    expect(creates[0]?.blockHashes).toEqual(digests.map((d) => d.toString('hex')));
    expect(creates[0]?.contentHash).toBe(combineBlockDigests(digests));
    await context.close();
  });
});
