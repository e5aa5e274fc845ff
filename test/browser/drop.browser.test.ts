/**
 * File drop in Chromium (issue 20 items 2 and 3): the owner makes an upload link from a folder's
 * actions in the drive and watches /links; a visitor without an account opens `/drop/{token}`, where
 * Uppy (@uppy/core + @uppy/tus) sends files through tus to `/drop/{token}/tus/`. Checked: the files
 * land in the owner's folder with the right content hash, progress is seen on a file of several
 * MiB, a reload in the middle resumes from the server's offset (HEAD answers Upload-Offset > 0 and
 * the next PATCH starts there), a password link asks for the password, a revoked and an unknown
 * link read the same message, the visitor's page asks the API nothing about the folder, the owner
 * sees arrivals live, and both pages fit a 375 px phone.
 *
 * Against the all-in-one server (`api/main.ts` child process, sign-up codes through a real SMTP
 * inbox). Needs /usr/bin/chromium; rebuilds web/dist when web/src is newer.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { launchChromium } from '../support/browser.ts';
import { tempDir } from '../support/db.ts';
import { testEnv } from '../support/env.ts';
import { makeFile } from '../support/files.ts';
import { gql } from '../support/graphql.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const MiB = 1024 * 1024;
const ARTIFACTS = path.join(testEnv.root, 'test/artifacts/browser');
const PASSWORD = 'Correct-Horse-42';
const DEAD = 'This link does not exist, has expired or was revoked.';
const suffix = randomBytes(3).toString('hex');

let server: ServerProcess;
let inbox: Inbox;
let browser: Browser;
let owner: { context: BrowserContext; page: Page; token: string };
let folderId: string;
let dropUrl: string;
const files: Record<string, { file: string; size: number; contentHash: string }> = {};

function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const full = path.join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }, 0);
}

async function newPage(options: Parameters<Browser['newContext']>[0] = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  return { context, page };
}

async function testFile(name: string, size: number): Promise<void> {
  const file = await makeFile(name, size, `${name}-${suffix}`);
  files[name] = { file, size, contentHash: await fileContentHash(file, size) };
}

const ownerGql = <T,>(query: string, variables: Record<string, unknown> = {}) => gql<T>(server.url, query, variables, owner.token);

/** The owner's folder's files: name → content hash. */
async function folderFiles(): Promise<Map<string, string | null>> {
  const res = await ownerGql<{ folder: { children: { edges: { node: { name: string; contentHash: string | null } }[] } } }>(
    'query($id: ID) { folder(id: $id) { children(first: 100) { edges { node { name contentHash } } } } }',
    { id: folderId },
  );
  return new Map(res.data?.folder.children.edges.map((e) => [e.node.name, e.node.contentHash]) ?? []);
}

async function createLinkByApi(input: Record<string, unknown>): Promise<{ id: string; url: string }> {
  const res = await ownerGql<{ createUploadLink: { id: string; url: string } }>('mutation($i: CreateUploadLinkInput!) { createUploadLink(input: $i) { id url } }', { i: { folderId, ...input } });
  if (!res.data) throw new Error(`createUploadLink: ${JSON.stringify(res.errors)}`);
  return res.data.createUploadLink;
}

const dropItem = (page: Page, name: string) => page.getByTestId('drop-file').filter({ has: page.getByText(name, { exact: true }) });

async function waitSent(page: Page, name: string, timeoutMs = 90_000): Promise<void> {
  const status = dropItem(page, name).locator('.u-status');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await status.textContent({ timeout: 5_000 }).catch(() => '')) ?? '';
    if (text === 'Sent') return;
    if ((await dropItem(page, name).getAttribute('class').catch(() => ''))?.includes('phase-failed')) throw new Error(`${name} failed: ${text}`);
    if (Date.now() > deadline) throw new Error(`${name} is "${text}", not Sent`);
    await sleep(100);
  }
}

/** Holds each PATCH for `delayMs` before it goes on, so progress and reloads land mid-upload. */
async function slowPatches(page: Page, delayMs: number): Promise<void> {
  await page.route('**/drop/*/tus/**', async (route) => {
    if (route.request().method() === 'PATCH') await sleep(delayMs);
    await route.continue().catch(() => undefined);
  });
}

/** The operation names of every GraphQL request the page sends. */
function graphqlOperations(page: Page): string[] {
  const names: string[] = [];
  page.on('request', (request) => {
    if (!request.url().endsWith('/graphql') || request.method() !== 'POST') return;
    const query = (JSON.parse(request.postData() ?? '{}') as { query?: string }).query ?? '';
    names.push(/^(?:query|mutation)\s+(\w+)/.exec(query.trim())?.[1] ?? query.slice(0, 40));
  });
  return names;
}

beforeAll(async () => {
  const dist = path.join(testEnv.root, 'web/dist/index.html');
  if (!existsSync(dist) || statSync(dist).mtimeMs < newest(path.join(testEnv.root, 'web/src'))) {
    execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: testEnv.root, stdio: 'inherit' });
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  inbox = await startInbox();
  server = await startServerProcess({ DATA_DIR: tempDir('stratus-drop-'), SMTP_URL: inbox.url }, 60_000);
  browser = await launchChromium();
  await testFile('photos.bin', 12 * MiB + 5);
  await testFile('notes.txt', 2_000);
  await testFile('dropped.bin', 300_000);
  await testFile('resumed.bin', 40 * MiB + 123);
  await testFile('secret.txt', 4_321);
}, 180_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && owner && !owner.page.isClosed()) {
    await owner.page.screenshot({ path: path.join(ARTIFACTS, `drop-failed-${context.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}.png`) }).catch(() => undefined);
  }
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await inbox?.close();
});

describe('file drop in Chromium', { timeout: 180_000 }, () => {
  it('serves the drop page for /drop/{token} without a Referer leak', async () => {
    const res = await fetch(`${server.url}/drop/${'x'.repeat(43)}`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await res.text()).toContain('<div id="root">');
  });

  it('the owner makes an upload link from a folder’s actions and sees its URL once', async () => {
    const { context, page } = await newPage();
    const email = `drop-${suffix}@example.com`;
    await page.goto('/signup');
    await page.getByLabel('E-mail').fill(email);
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByLabel('Code from the e-mail').fill(await inbox.codeFor(email, 15_000));
    await page.getByLabel('Username').fill(`drop${suffix}`);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'My drive', level: 1 }).waitFor();
    const token = await page.evaluate<string | null>("localStorage.getItem('stratus.accessToken')");
    if (!token) throw new Error('no access token after sign-up');
    owner = { context, page, token };
    const made = await ownerGql<{ createFolder: { id: string } }>('mutation { createFolder(name: "Inbox") { id } }');
    folderId = made.data?.createFolder.id ?? '';
    expect(folderId).not.toBe('');
    await page.reload();
    await page.getByLabel('Actions for Inbox').click();
    await page.getByRole('button', { name: 'Upload link', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Upload link to “Inbox”' });
    await dialog.getByLabel('Most files').fill('10');
    await dialog.getByRole('button', { name: 'Create link' }).click();
    dropUrl = await dialog.getByTestId('upload-link-url').inputValue();
    expect(dropUrl).toMatch(new RegExp(`^${new URL(server.url).origin.replace(/\./g, '\\.')}/drop/[A-Za-z0-9_-]{40,}$`));
    await page.screenshot({ path: path.join(ARTIFACTS, 'drop-01-link-created.png') });
    await dialog.getByRole('button', { name: 'See your upload links' }).click();
    await page.getByRole('heading', { name: 'Upload links', level: 1 }).waitFor();
    await expect(page.getByTestId('link-counts').first().textContent()).resolves.toBe('0 of 10 files · 0 B received');
    // The link is listed again with its URL, to copy and send to more people.
    await expect(page.getByTestId('link-url').first().inputValue()).resolves.toBe(dropUrl);
  });

  it('a visitor picks and drops files: Uppy sends them with progress, they land with the right content hash, the owner sees them arrive live', async () => {
    const { context, page } = await newPage();
    const operations = graphqlOperations(page);
    await slowPatches(page, 400);
    await page.goto(dropUrl);
    await page.getByRole('heading', { name: 'Send files' }).waitFor();
    await expect(page.getByTestId('drop-limits').textContent()).resolves.toContain('Up to 10 more files.');
    await page.locator('input.uppy-DragDrop-input').setInputFiles([files['photos.bin']!.file, files['notes.txt']!.file]);
    // Progress between nothing and everything is seen on the 12 MiB file (8 MiB PATCHes).
    const bar = page.getByLabel('Progress of photos.bin');
    const deadline = Date.now() + 60_000;
    let midway = 0;
    while (!midway && Date.now() < deadline) {
      const value = Number((await bar.getAttribute('value').catch(() => '0')) ?? 0);
      if (value > 0 && value < files['photos.bin']!.size) midway = value;
      else await sleep(20);
    }
    expect(midway).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'drop-02-progress.png') });
    await waitSent(page, 'photos.bin');
    await waitSent(page, 'notes.txt');
    // Drag and drop: a drop event carrying a file, as a browser fires it.
    const dataTransfer = await page.evaluateHandle(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(1234)], 'dropped-in-page.bin', { type: 'application/octet-stream' }));
      return dt;
    })()`);
    await page.dispatchEvent('.uppy-DragDrop-container', 'drop', { dataTransfer });
    await waitSent(page, 'dropped-in-page.bin');
    const landed = await folderFiles();
    expect(landed.get('photos.bin')).toBe(files['photos.bin']!.contentHash);
    expect(landed.get('notes.txt')).toBe(files['notes.txt']!.contentHash);
    expect(landed.has('dropped-in-page.bin')).toBe(true);
    // The owner's /links page got the arrivals over the subscription, without a reload.
    const live = owner.page.getByTestId('live-arrivals');
    for (const name of ['photos.bin', 'notes.txt', 'dropped-in-page.bin']) await live.getByText(name, { exact: false }).first().waitFor();
    await expect(owner.page.getByTestId('link-counts').first().textContent()).resolves.toBe('3 of 10 files · 12 MB received');
    // After a reload the list itself names the link's latest arrivals.
    await owner.page.reload();
    const latest = owner.page.getByRole('list', { name: 'Latest arrivals in Inbox' }).first();
    for (const name of ['photos.bin', 'notes.txt', 'dropped-in-page.bin']) await latest.getByText(name, { exact: false }).waitFor();
    await owner.page.screenshot({ path: path.join(ARTIFACTS, 'drop-03-owner-arrivals.png') });
    // The visitor's page asked the API about the link only — never the folder.
    expect(new Set(operations)).toEqual(new Set(['DropLink']));
    expect(await page.content()).not.toContain('Inbox');
    await context.close();
  });

  it('a reload in the middle of a 40 MiB file resumes from the server’s offset and the file is right', async () => {
    const { context, page } = await newPage();
    await slowPatches(page, 1_500);
    const patched: { offset: number; status: number }[] = [];
    page.on('response', (res) => {
      if (res.request().method() === 'PATCH') patched.push({ offset: Number(res.headers()['upload-offset'] ?? 0), status: res.status() });
    });
    await page.goto(dropUrl);
    await page.locator('input.uppy-DragDrop-input').setInputFiles(files['resumed.bin']!.file);
    const deadline = Date.now() + 60_000;
    while (!patched.some((p) => p.status === 204 && p.offset >= 8 * MiB) && Date.now() < deadline) await sleep(50);
    const before = Math.max(...patched.map((p) => p.offset));
    expect(before).toBeGreaterThanOrEqual(8 * MiB);
    expect(before).toBeLessThan(files['resumed.bin']!.size);

    await page.reload();
    await page.getByRole('heading', { name: 'Send files' }).waitFor();
    await page.getByRole('note').getByText(/Unfinished from before: resumed\.bin/).waitFor();
    const head = page.waitForResponse((res) => res.request().method() === 'HEAD' && res.url().includes('/tus/'));
    const firstPatch = page.waitForRequest((req) => req.method() === 'PATCH');
    await page.locator('input.uppy-DragDrop-input').setInputFiles(files['resumed.bin']!.file);
    const offset = Number((await head).headers()['upload-offset']);
    expect((await head).status()).toBe(200);
    expect(offset).toBeGreaterThanOrEqual(before);
    expect(Number((await firstPatch).headers()['upload-offset'])).toBe(offset);
    await waitSent(page, 'resumed.bin');
    await expect(dropItem(page, 'resumed.bin').locator('.u-status').textContent()).resolves.toBe('Sent');
    expect((await folderFiles()).get('resumed.bin')).toBe(files['resumed.bin']!.contentHash);
    // The finished upload's fingerprint is gone: nothing left to resume.
    expect(await page.evaluate<number>("Object.keys(localStorage).filter((k) => k.startsWith('tus::')).length")).toBe(0);
    await context.close();
  });

  it('a password link asks for the password, refuses a wrong one, then takes files', async () => {
    const link = await createLinkByApi({ password: 'drop-pass-42', maxFiles: 1 });
    const { context, page } = await newPage();
    await page.goto(link.url);
    const form = page.getByRole('form', { name: 'Unlock the file drop' });
    await form.getByLabel('Password').fill('not-it-at-all');
    await form.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('alert').filter({ hasText: 'That password is not right.' }).waitFor();
    await form.getByLabel('Password').fill('drop-pass-42');
    await form.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('heading', { name: 'Send files' }).waitFor();
    await expect(page.getByTestId('drop-limits').textContent()).resolves.toContain('Up to 1 more file.');
    await page.locator('input.uppy-DragDrop-input').setInputFiles(files['secret.txt']!.file);
    await waitSent(page, 'secret.txt');
    expect((await folderFiles()).get('secret.txt')).toBe(files['secret.txt']!.contentHash);
    // Its one file is in: the page now says so rather than offering more.
    await page.reload();
    await page.getByTestId('drop-full').or(page.getByTestId('dead-link')).first().waitFor();
    expect(await page.getByTestId('drop-target').isVisible()).toBe(false);
    await context.close();
  });

  it('a link revoked in the owner’s list reads the same as an unknown one, and stops a page already open', async () => {
    const link = await createLinkByApi({});
    const { context, page } = await newPage();
    await page.goto(link.url);
    await page.getByRole('heading', { name: 'Send files' }).waitFor();
    await owner.page.reload();
    const item = owner.page.getByTestId('upload-link').filter({ has: owner.page.locator('.badge', { hasText: 'Active' }) }).first();
    await item.getByRole('button', { name: 'Revoke the upload link to Inbox' }).click();
    await owner.page.getByRole('dialog', { name: 'Revoke this upload link?' }).getByRole('button', { name: 'Revoke link' }).click();
    await owner.page.getByText('Revoked', { exact: true }).first().waitFor();
    // The open page tries to send: the server refuses, the page says the link is dead.
    await page.locator('input.uppy-DragDrop-input').setInputFiles(files['dropped.bin']!.file);
    await page.getByTestId('dead-link').waitFor();
    expect(await page.getByTestId('dead-link').textContent()).toBe(DEAD);
    expect((await folderFiles()).has('dropped.bin')).toBe(false);
    for (const url of [link.url, `${server.url}/drop/${'A'.repeat(43)}`]) {
      await page.goto(url);
      await expect(page.getByTestId('dead-link').textContent()).resolves.toBe(DEAD);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'drop-04-dead-link.png') });
    await context.close();
  });

  it('fits a 375 px phone: the drop page and the owner’s links', async () => {
    const { context, page } = await newPage({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await page.goto(dropUrl);
    await page.getByRole('heading', { name: 'Send files' }).waitFor();
    await page.locator('input.uppy-DragDrop-input').setInputFiles(files['dropped.bin']!.file);
    await waitSent(page, 'dropped.bin');
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.screenshot({ path: path.join(ARTIFACTS, 'drop-05-phone.png') });
    // Signed in as the owner: the refresh cookie, the access token and the app's signed-in mark.
    await context.addCookies(await owner.context.cookies());
    await page.evaluate(`localStorage.setItem('stratus.accessToken', ${JSON.stringify(owner.token)}); localStorage.setItem('stratus.signedIn', '1')`);
    await page.goto('/links');
    await page.getByRole('heading', { name: 'Upload links', level: 1 }).waitFor();
    await page.getByTestId('upload-link').first().waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.screenshot({ path: path.join(ARTIFACTS, 'drop-06-links-phone.png') });
    await context.close();
  });
});
