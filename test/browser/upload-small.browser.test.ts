/**
 * The web app sends a file of at most one chunk (8 MiB) as `uploadFile`, one GraphQL multipart
 * request, instead of an upload session (openUploads, createUpload, a chunk PUT, completeUpload,
 * after hashing it in a worker); the file lands with its content hash, and one the browser knows
 * no type of (File.type '') with none recorded (`mimeType: null`). A larger file still takes a
 * session. Files up to 1 MiB go together in uploadFiles requests, each with its own result. The one request shows its progress, and Cancel and Pause stop its bytes. Real Chromium (playwright-core) against
 * the all-in-one server as a child process on embedded defaults.
 *
 * Needs /usr/bin/chromium; builds web/dist when it is missing or older than web/src.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { tempDir } from '../support/db.ts';
import { testEnv } from '../support/env.ts';
import { makeFile } from '../support/files.ts';
import { gql } from '../support/graphql.ts';
import { launchChromium, signIn } from '../support/browser.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const MiB = 1024 * 1024;
const PASSWORD = 'Correct-Horse-42';

let server: ServerProcess;
let inbox: Inbox;
let browser: Browser;
let username: string;
let token: string;

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
  server = await startServerProcess({ DATA_DIR: tempDir('stratus-small-'), SMTP_URL: inbox.url }, 60_000);
  username = `sm${randomBytes(3).toString('hex')}`;
  const email = `${username}@example.com`;
  await gql(server.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
  const code = await inbox.codeFor(email, 15_000);
  const reg = await gql<{ register: { accessToken: string } }>(server.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', { i: { username, email, password: PASSWORD, code } });
  if (!reg.data) throw new Error(JSON.stringify(reg.errors));
  token = reg.data.register.accessToken;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await inbox?.close();
});

/**
 * What the page sent: JSON GraphQL operations, the answers to multipart ones (a file part's body
 * is not readable from the request here), and chunk PUTs.
 */
function watch(page: Page): { multipart: string[]; json: string[]; puts: number } {
  const seen = { multipart: [] as string[], json: [] as string[], puts: 0 };
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (request.method() === 'PUT' && url.pathname.startsWith('/upload/')) seen.puts++;
    if (request.method() !== 'POST' || url.pathname !== '/graphql') return;
    if (/^multipart\//.test(request.headers()['content-type'] ?? '')) {
      void request.response().then((res) => res?.text()).then((text) => seen.multipart.push(text ?? ''));
    } else seen.json.push(request.postData() ?? '');
  });
  return seen;
}

async function stored(name: string): Promise<{ size: number; contentHash: string; mimeType: string | null } | undefined> {
  const res = await gql<{ folder: { children: { edges: { node: { name: string; size: number; contentHash: string; mimeType: string | null } }[] } } }>(
    server.url, '{ folder { children(first: 50) { edges { node { name size contentHash mimeType } } } } }', {}, token,
  );
  return res.data?.folder.children.edges.map((e) => e.node).find((n) => n.name === name);
}

/** A page signed in as the test's person, its uploads throttled to 512 KiB/s (DevTools protocol). */
async function throttledPage() {
  const context = await browser.newContext({ baseURL: server.url });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await signIn(page, username, PASSWORD);
  await page.getByLabel('Choose files to upload').waitFor({ state: 'attached' });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const throttle = (uploadThroughput: number) => cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput });
  await throttle(512 * 1024);
  return { context, page, unthrottle: () => throttle(-1) };
}

describe('uploading small files from the web app', { timeout: 120_000 }, () => {
  it('a 100 KB text file and a file of no known type go together in one uploadFiles request, an 8 MiB photo in its own uploadFile: no session, no chunk PUT; a 9 MiB file takes a session', async () => {
    const dir = tempDir('stratus-small-files-');
    const note = path.join(dir, 'note.txt');
    writeFileSync(note, 'a line of a note\n'.repeat(6_000));
    const odd = path.join(dir, 'data.unknownext');
    writeFileSync(odd, randomBytes(5000));
    const photo = await makeFile('photo.jpg', 8 * MiB, `photo-${username}`);
    const big = await makeFile('big.jpg', 9 * MiB, `big-${username}`);

    const context = await browser.newContext({ baseURL: server.url });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const seen = watch(page);
    await signIn(page, username, PASSWORD);
    await page.getByText('This folder is empty.').waitFor();
    await page.getByLabel('Choose files to upload').setInputFiles([note, photo, odd]);
    await page.getByRole('button', { name: 'Download note.txt' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Download photo.jpg' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Download data.unknownext' }).waitFor({ timeout: 60_000 });
    for (let i = 0; i < 100 && seen.multipart.length < 2; i++) await sleep(20);

    // The two files up to 1 MiB in one uploadFiles request (upload-batch.ts), the photo in its own uploadFile.
    expect(seen.multipart).toHaveLength(2);
    expect(seen.multipart.filter((answer) => answer.includes('"uploadFiles"'))).toHaveLength(1);
    expect(seen.multipart.filter((answer) => answer.includes('"uploadFile"'))).toHaveLength(1);
    // (OpenUploads is also asked by the unfinished-uploads list of the page: not counted.)
    expect(seen.json.filter((b) => /createUpload|completeUpload/.test(b))).toEqual([]);
    expect(seen.puts).toBe(0);
    expect(await stored('note.txt')).toMatchObject({ size: statSync(note).size, contentHash: await fileContentHash(note, statSync(note).size), mimeType: 'text/plain' });
    expect(await stored('photo.jpg')).toMatchObject({ size: 8 * MiB, contentHash: await fileContentHash(photo, 8 * MiB), mimeType: 'image/jpeg' });
    expect(await stored('data.unknownext')).toMatchObject({ size: 5000, contentHash: await fileContentHash(odd, 5000), mimeType: null });

    await page.getByLabel('Choose files to upload').setInputFiles(big);
    await page.getByRole('button', { name: 'Download big.jpg' }).waitFor({ timeout: 60_000 });
    expect(seen.json.filter((b) => b.includes('createUpload'))).toHaveLength(1);
    expect(seen.puts).toBeGreaterThan(0);
    expect(seen.multipart).toHaveLength(2);
    await context.close();
  });

  it('twelve small files go in one uploadFiles request; one whose name is taken fails alone with its reason, the others land', async () => {
    const dir = tempDir('stratus-small-batch-');
    const files = Array.from({ length: 12 }, (_, i) => {
      const file = path.join(dir, `batch-${i}.txt`);
      writeFileSync(file, `batch file ${i}\n`.repeat(200 + i));
      return file;
    });
    // batch-5.txt is in the drive already.
    const taken = await gql<{ createFolder: { id: string } }>(server.url, 'mutation { createFolder(parentId: null, name: "batch-5.txt") { id } }', {}, token);
    expect(taken.errors).toBeUndefined();
    const context = await browser.newContext({ baseURL: server.url });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const seen = watch(page);
    await signIn(page, username, PASSWORD);
    await page.getByLabel('Choose files to upload').setInputFiles(files);
    for (const file of files.filter((_, i) => i !== 5)) await page.getByRole('button', { name: `Download ${path.basename(file)}` }).waitFor({ timeout: 60_000 });
    await page.getByRole('alert').filter({ hasText: 'Something with that name is already in this folder' }).waitFor();
    for (let i = 0; i < 100 && seen.multipart.length < 1; i++) await sleep(20);
    expect(seen.multipart).toHaveLength(1);
    expect(seen.multipart[0]).toContain('"uploadFiles"');
    for (const file of files.filter((_, i) => i !== 5)) {
      const size = statSync(file).size;
      expect(await stored(path.basename(file))).toMatchObject({ size, contentHash: await fileContentHash(file, size), mimeType: 'text/plain' });
    }
    await context.close();
  });

  it('Cancel of one file of a batch stops its request: that file never lands, the others go again and land', async () => {
    const dir = tempDir('stratus-small-batch-cancel-');
    const files = Array.from({ length: 4 }, (_, i) => {
      const file = path.join(dir, `bc-${i}.bin`);
      writeFileSync(file, randomBytes(900 * 1024));
      return file;
    });
    // 512 KiB/s up: the batch's 3.5 MiB take ~7 s, time to cancel one file of it.
    const { context, page, unthrottle } = await throttledPage();
    const seen = watch(page);
    await page.getByLabel('Choose files to upload').setInputFiles(files);
    const bar = page.getByRole('progressbar', { name: 'Upload progress of bc-0.bin' });
    await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Cancel bc-2.bin' }).click();
    await unthrottle();
    for (const name of ['bc-0.bin', 'bc-1.bin', 'bc-3.bin']) await page.getByRole('button', { name: `Download ${name}` }).waitFor({ timeout: 60_000 });
    await sleep(3_000);
    expect(await stored('bc-2.bin')).toBeUndefined();
    for (const name of ['bc-0.bin', 'bc-1.bin', 'bc-3.bin']) expect((await stored(name))?.size).toBe(900 * 1024);
    // The stopped request (no answer) and the one the three went again in.
    for (let i = 0; i < 100 && seen.multipart.length < 2; i++) await sleep(20);
    expect(seen.multipart).toHaveLength(2);
    await context.close();
  });

  it('a one-request upload shows its progress, and Cancel stops it: the file never lands (it used to arrive all the same)', async () => {
    const dir = tempDir('stratus-small-cancel-');
    const slow = await makeFile('slow.pdf', 4 * MiB, `slow-${username}`);
    const kept = path.join(dir, 'kept.txt');
    writeFileSync(kept, 'kept\n');
    // 512 KiB/s up: the 4 MiB file takes ~8 s, time to see it move and to cancel it.
    const { context, page, unthrottle } = await throttledPage();
    await page.getByLabel('Choose files to upload').setInputFiles(slow);
    const bar = page.getByRole('progressbar', { name: 'Upload progress of slow.pdf' });
    // Moving: some bytes sent, not all (it showed 100 % from the first byte, the request's whole length in flight).
    await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(Number(await bar.getAttribute('aria-valuenow'))).toBeLessThan(100);
    await page.getByRole('button', { name: 'Cancel slow.pdf' }).click();
    await unthrottle();
    // Long after the whole file would have arrived: nothing stored, and the page still uploads.
    await sleep(10_000);
    expect(await stored('slow.pdf')).toBeUndefined();
    await page.getByLabel('Choose files to upload').setInputFiles(kept);
    await page.getByRole('button', { name: 'Download kept.txt' }).waitFor({ timeout: 60_000 });
    expect(await stored('slow.pdf')).toBeUndefined();
    await context.close();
  });

  it('Pause stops a one-request upload (it used to do nothing); Resume sends it again from its first byte, and it lands once, whole', async () => {
    const paused = await makeFile('paused.pdf', 4 * MiB, `paused-${username}`);
    const { context, page, unthrottle } = await throttledPage();
    const seen = watch(page);
    await page.getByLabel('Choose files to upload').setInputFiles(paused);
    const bar = page.getByRole('progressbar', { name: 'Upload progress of paused.pdf' });
    await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Pause paused.pdf' }).click();
    await page.getByRole('button', { name: 'Resume paused.pdf' }).waitFor();
    await sleep(10_000);
    expect(await stored('paused.pdf')).toBeUndefined();
    await unthrottle();
    await page.getByRole('button', { name: 'Resume paused.pdf' }).click();
    await page.getByRole('button', { name: 'Download paused.pdf' }).waitFor({ timeout: 60_000 });
    expect(await stored('paused.pdf')).toMatchObject({ size: 4 * MiB, contentHash: await fileContentHash(paused, 4 * MiB) });
    for (let i = 0; i < 100 && seen.multipart.length < 2; i++) await sleep(20);
    // Two requests: the paused one, stopped without an answer (''), and the resumed one, answered.
    expect(seen.multipart).toHaveLength(2);
    expect(seen.multipart.filter((answer) => answer !== '')).toHaveLength(1);
    await context.close();
  });
});
