/**
 * The web app end to end in a real browser: Debian's Chromium driven by playwright-core against
 * the all-in-one server (`api/main.ts` as a child process on embedded defaults, sign-up codes
 * through a real SMTP inbox). Covers sign-up, a 50 MiB upload watched to 100 % with pause and
 * resume, a reload mid-upload finished by choosing the file again, instant upload by a second
 * person (no chunk PUT at all), a password share downloaded in a fresh context, sign-in at phone
 * width, and folder work (new folder, rename, move, delete, restore, sort, a clash in words).
 * Screenshots of the main screens go to test/artifacts/browser/ (ignored by git).
 *
 * Needs /usr/bin/chromium (`bash scripts/lib/chromium.sh`) and builds web/dist when missing.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/db.ts';
import { testEnv } from '../support/env.ts';
import { makeFile } from '../support/files.ts';
import { launchChromium } from '../support/browser.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const MiB = 1024 * 1024;
const ARTIFACTS = path.join(testEnv.root, 'test/artifacts/browser');
const PASSWORD = 'Correct-Horse-42';
const SHARE_PASSWORD = 'open-sesame-42';

let server: ServerProcess;
let inbox: Inbox;
let browser: Browser;
let alice: { context: BrowserContext; page: Page; username: string; email: string };
let big: { file: string; sha256: string };
const suffix = randomBytes(3).toString('hex');

/** Chunk PUTs are held this long in the browser (0: not at all), so pauses and reloads land mid-upload. */
let chunkDelayMs = 0;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/** The web app's refresh cookie (api/http/refresh-cookie.ts). */
async function refreshCookie(context: BrowserContext) {
  const cookie = (await context.cookies()).find((c) => c.name === 'stratus_refresh');
  if (!cookie) throw new Error('no stratus_refresh cookie');
  return cookie;
}

async function newPage(options: Parameters<Browser['newContext']>[0] = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: server.url, acceptDownloads: true, viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  return { context, page };
}

/** Holds every chunk PUT for `chunkDelayMs` before it goes on (requests aborted meanwhile are fine). */
async function slowChunks(page: Page): Promise<void> {
  await page.route('**/upload/**', async (route: Route) => {
    if (chunkDelayMs > 0) await sleep(chunkDelayMs);
    await route.continue().catch(() => undefined);
  });
}

/** Counts chunk PUTs seen by the page (worker requests included), and the chunk index of each. */
function countChunkPuts(page: Page): { count: number; indexes: number[] } {
  const counter = { count: 0, indexes: [] as number[] };
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (request.method() !== 'PUT' || !path.startsWith('/upload/')) return;
    counter.count++;
    counter.indexes.push(Number(path.split('/').at(-1)));
  });
  return counter;
}

async function signUp(page: Page, username: string, email: string): Promise<void> {
  await page.goto('/signup');
  await page.getByLabel('E-mail').fill(email);
  await page.getByRole('button', { name: 'Send code' }).click();
  const code = await inbox.codeFor(email, 15_000);
  await page.getByLabel('Code from the e-mail').fill(code);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'My drive', level: 1 }).waitFor();
  await page.getByText('This folder is empty.').waitFor();
}

async function progress(page: Page, label: string): Promise<number> {
  const value = await page.getByRole('progressbar', { name: label, exact: true }).getAttribute('aria-valuenow', { timeout: 5_000 });
  return Number(value);
}

async function waitForProgress(page: Page, label: string, predicate: (value: number) => boolean, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await progress(page, label).catch(() => -1);
    if (value >= 0 && predicate(value)) return value;
    if (Date.now() > deadline) throw new Error(`${label} stayed at ${value}`);
    await sleep(50);
  }
}

function uploadItem(page: Page, name: string) {
  return page.getByTestId('upload-item').filter({ has: page.getByText(name, { exact: true }) });
}

async function waitForStatus(page: Page, name: string, text: RegExp, timeoutMs = 60_000): Promise<string> {
  const status = uploadItem(page, name).getByTestId('upload-status');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = (await status.textContent({ timeout: 5_000 }).catch(() => '')) ?? '';
    if (text.test(value)) return value;
    if (/Failed/.test(value)) throw new Error(`upload of ${name} failed: ${await uploadItem(page, name).textContent()}`);
    if (Date.now() > deadline) throw new Error(`upload of ${name} is "${value}", not ${text}`);
    await sleep(50);
  }
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const fileRow = (page: Page, name: string) => page.getByRole('row').filter({ has: page.getByText(name, { exact: true }) });

beforeAll(async () => {
  if (!existsSync(path.join(testEnv.root, 'web/dist/index.html'))) {
    execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: testEnv.root, stdio: 'inherit' });
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  inbox = await startInbox();
  server = await startServerProcess({ DATA_DIR: tempDir('stratus-web-'), SMTP_URL: inbox.url }, 60_000);
  browser = await launchChromium();
  const file = await makeFile('big.bin', 50 * MiB, `big-${suffix}`);
  big = { file, sha256: sha256(file) };
}, 180_000);

// A failed step leaves a picture of the main page behind.
afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && alice && !alice.page.isClosed()) {
    await shot(alice.page, `failed-${context.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => undefined);
  }
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await inbox?.close();
});

describe('the web app in Chromium', { timeout: 180_000 }, () => {
  it('serves the app at / and for deep links, and leaves the API paths alone', async () => {
    for (const p of ['/', '/folder/abc', `/share/${'x'.repeat(43)}`]) {
      const res = await fetch(`${server.url}${p}`, { headers: { accept: 'text/html' } });
      expect(res.status, p).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<div id="root">');
    }
    const html = await (await fetch(`${server.url}/`)).text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeTruthy();
    const js = await fetch(`${server.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toMatch(/max-age=31536000.*immutable/);
    expect((await fetch(`${server.url}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/graphiql`, { headers: { accept: 'text/html' } })).headers.get('content-type')).toMatch(/html/);
    const anonymous = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    // Every answer also reports its price (extensions.cost, issue 17).
    expect(await anonymous.json()).toMatchObject({ data: { __typename: 'Query' }, extensions: { cost: { limit: expect.any(Number) } } });
    expect((await fetch(`${server.url}/s/nope`, { headers: { accept: 'text/html' } })).headers.get('content-type')).toMatch(/json/);
  });

  it('signs up with the e-mail code and shows the empty drive', async () => {
    const { context, page } = await newPage();
    const username = `alice${suffix}`;
    const email = `alice-${suffix}@example.com`;
    await page.goto('/');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/signin');
    await signUp(page, username, email);
    await page.getByText('This folder is empty.').waitFor();
    // The refresh token lives in an HttpOnly, SameSite=Strict cookie of /auth, never in JavaScript's reach.
    const cookie = await refreshCookie(context);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/auth' });
    expect(await page.evaluate<string | null>("localStorage.getItem('stratus.refreshToken')")).toBeNull();
    expect(await page.evaluate<string>('document.cookie')).not.toContain(cookie.value);
    expect(await page.evaluate<string>('JSON.stringify(localStorage)')).not.toContain(cookie.value);
    await shot(page, '01-drive-empty');
    alice = { context, page, username, email };
  });

  it('uploads 50 MiB with the bar reaching 100 %, through a pause and a resume', async () => {
    const { page } = alice;
    const puts = countChunkPuts(page);
    await slowChunks(page);
    chunkDelayMs = 2_000;
    const seen = new Set<number>();
    await page.getByLabel('Choose files to upload').setInputFiles(big.file);
    // 7 chunks of 8 MiB, 4 at a time: the first four land after the delay, then three more are held.
    const first = await waitForProgress(page, 'Upload progress of big.bin', (v) => v >= 50 && v < 100, 60_000);
    seen.add(first);
    await shot(page, '02-upload-in-progress');
    await page.getByRole('button', { name: 'Pause big.bin' }).click();
    await waitForStatus(page, 'big.bin', /^Paused/);
    const paused = await progress(page, 'Upload progress of big.bin');
    expect(paused).toBeGreaterThanOrEqual(50);
    expect(paused).toBeLessThan(100);
    const putsAtPause = puts.count;
    await sleep(2_500);
    expect(await progress(page, 'Upload progress of big.bin')).toBe(paused);
    await shot(page, '03-upload-paused');

    chunkDelayMs = 300;
    // The server's own list of what it lacks at the resume: a chunk held in flight when the pause
    // was shown may still have landed (the bar showed less than the server had, never more).
    const resumed = page.waitForResponse((r) => r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('resumeUpload'));
    await page.getByRole('button', { name: 'Resume big.bin' }).click();
    const missing = ((await (await resumed).json()) as { data: { resumeUpload: { missingChunks: number[] } } }).data.resumeUpload.missingChunks;
    expect(missing.length).toBeGreaterThanOrEqual(1);
    expect(missing.length).toBeLessThanOrEqual(7 - Math.floor((paused * 50) / 100 / 8));
    const total = page.getByRole('progressbar', { name: 'Total upload progress' });
    for (;;) {
      const value = Number(await total.getAttribute('aria-valuenow'));
      seen.add(value);
      if (value === 100) break;
      await sleep(30);
    }
    await waitForStatus(page, 'big.bin', /^Done/);
    expect(await progress(page, 'Upload progress of big.bin')).toBe(100);
    expect([...seen].some((v) => v > 0 && v < 100)).toBe(true);
    // After the resume only the chunks the server did not have were sent.
    // (A PUT refused while the aborted one still held its chunk's lock is retried: count chunks, not requests.)
    expect([...new Set(puts.indexes.slice(putsAtPause))].sort((a, b) => a - b)).toEqual(missing);
    expect(puts.count).toBeGreaterThanOrEqual(7);
    await fileRow(page, 'big.bin').getByText('50 MB').waitFor();
    await shot(page, '04-upload-done');
  });

  it('finishes an upload interrupted by a reload when the same file is chosen again', async () => {
    const { page } = alice;
    const second = await makeFile('second.bin', 40 * MiB, `second-${suffix}`);
    chunkDelayMs = 2_000;
    await page.getByLabel('Choose files to upload').setInputFiles(second);
    // 5 chunks, 4 at a time: after the first four the fifth is held when the page reloads.
    await waitForProgress(page, 'Upload progress of second.bin', (v) => v >= 80 && v < 100, 60_000);
    await page.reload();
    await page.getByRole('heading', { name: 'Unfinished uploads' }).waitFor();
    await page.getByText(/second\.bin/).first().waitFor();
    await fileRow(page, 'big.bin').waitFor();
    await shot(page, '05-unfinished-uploads');
    const puts = countChunkPuts(page);
    chunkDelayMs = 0;
    await page.getByLabel('Choose second.bin to continue its upload').setInputFiles(second);
    const status = await waitForStatus(page, 'second.bin', /^Done/);
    expect(status).toMatch(/resumed/);
    expect(puts.count).toBe(1);
    await fileRow(page, 'second.bin').getByText('40 MB').waitFor();
    expect(await page.getByRole('heading', { name: 'Unfinished uploads' }).count()).toBe(0);
  });

  it('uploads the same content instantly for another person: no chunk is sent', async () => {
    const { context, page } = await newPage();
    await signUp(page, `bob${suffix}`, `bob-${suffix}@example.com`);
    const puts = countChunkPuts(page);
    await page.getByLabel('Choose files to upload').setInputFiles(big.file);
    const status = await waitForStatus(page, 'big.bin', /^Done/);
    expect(status).toMatch(/instant/);
    expect(puts.count).toBe(0);
    expect(await progress(page, 'Total upload progress')).toBe(100);
    await fileRow(page, 'big.bin').getByText('50 MB').waitFor();
    await shot(page, '06-instant-upload');
    await context.close();
  });

  it('shares with a password and downloads the exact bytes from the share page in a fresh context', async () => {
    const { page, context } = alice;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await fileRow(page, 'big.bin').getByLabel('Actions for big.bin').click();
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Share “big.bin”' });
    await dialog.getByLabel('Password (optional)').fill(SHARE_PASSWORD);
    const nextWeek = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    await dialog.getByLabel('Expires on (optional)').fill(nextWeek);
    await dialog.getByLabel('Download limit (optional)').fill('3');
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const urlInput = dialog.getByTestId('share-url');
    await urlInput.waitFor();
    const link = await urlInput.inputValue();
    expect(link).toMatch(new RegExp(`^${server.url.replace(/[.]/g, '\\.')}/share/[A-Za-z0-9_-]{20,}$`));
    await dialog.getByText(/Password · expires .* · 0 of 3 downloads/).waitFor();
    await dialog.getByRole('button', { name: 'Copy link' }).click();
    await dialog.getByRole('button', { name: 'Copied ✓' }).waitFor();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(link);
    await shot(page, '07-share-dialog');
    await dialog.getByRole('button', { name: 'Close' }).click();

    const visitor = await newPage();
    await visitor.page.goto(link);
    await visitor.page.getByRole('heading', { name: 'This link is protected' }).waitFor();
    await visitor.page.getByLabel('Password').fill('wrong-password');
    await visitor.page.getByRole('button', { name: 'Open' }).click();
    await visitor.page.getByRole('alert').filter({ hasText: 'That password is not right.' }).waitFor();
    await visitor.page.getByLabel('Password').fill(SHARE_PASSWORD);
    await visitor.page.getByRole('button', { name: 'Open' }).click();
    await visitor.page.getByRole('heading', { name: /big\.bin/ }).waitFor();
    await shot(visitor.page, '08-share-page');
    const [download] = await Promise.all([visitor.page.waitForEvent('download', { timeout: 60_000 }), visitor.page.getByRole('button', { name: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe('big.bin');
    // The browser's download manager fetched it, not the page into memory (a blob: URL).
    expect(download.url()).toMatch(new RegExp(`^${server.url.replace(/[.]/g, '\\.')}/s/[^?]+\\?unlock=`));
    const saved = path.join(tempDir('stratus-dl-'), 'big.bin');
    await download.saveAs(saved);
    expect(readFileSync(saved).length).toBe(50 * MiB);
    expect(sha256(saved)).toBe(big.sha256);
    await visitor.context.close();
  });

  it('refreshes the access token silently: when it has expired, and when the server refuses it', async () => {
    const { context, page } = alice;
    // The refresh token is the HttpOnly cookie: each refresh rotates it (the app cannot read it).
    const before = (await refreshCookie(context)).value;
    // Expired (exp in 1970): refreshed before the first request.
    await page.evaluate("localStorage.setItem('stratus.accessToken', 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.x')");
    await page.reload();
    await fileRow(page, 'big.bin').waitFor();
    const afterExpired = (await refreshCookie(context)).value;
    expect(afterExpired).not.toBe(before);
    // Looks valid for years but the server refuses it (bad signature): UNAUTHENTICATED, refresh, retry.
    await page.evaluate("localStorage.setItem('stratus.accessToken', 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjk5OTk5OTk5OTl9.x')");
    await page.reload();
    await fileRow(page, 'big.bin').waitFor();
    expect((await refreshCookie(context)).value).not.toBe(afterExpired);
    expect(await page.getByRole('alert').count()).toBe(0);
  });

  it('signs in at phone width with nothing wider than the screen', async () => {
    const { context, page } = await newPage({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await page.goto('/');
    await page.getByLabel('Username or e-mail').fill(alice.email);
    await page.getByLabel('Password').fill('not-the-password1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'That username or password is not right.' }).waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'My drive', level: 1 }).waitFor();
    await fileRow(page, 'big.bin').waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await shot(page, '09-drive-phone');
    await fileRow(page, 'big.bin').getByLabel('Actions for big.bin').click();
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await page.getByRole('dialog').getByTestId('share-url').first().waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await shot(page, '10-share-dialog-phone');
    await context.close();
  });

  it('makes, renames, moves, deletes and restores, sorts, and says why a name clash failed', async () => {
    const { page } = alice;
    await page.goto('/');
    await page.getByRole('button', { name: 'New folder' }).click();
    await page.getByLabel('Folder name').fill('Projects');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await fileRow(page, 'Projects').waitFor();

    // A clash, in words.
    await page.getByRole('button', { name: 'New folder' }).click();
    await page.getByLabel('Folder name').fill('Projects');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.getByRole('dialog').getByRole('alert').filter({ hasText: 'Something with that name is already in this folder.' }).waitFor();
    await page.getByRole('button', { name: 'Close' }).click();

    // Sort by size, largest first: big.bin (50 MB) before second.bin (40 MB); folders first.
    await page.getByLabel('Sort by').selectOption('SIZE');
    await page.getByRole('button', { name: /switch to descending/ }).click();
    // Read from Playwright's isolated world: waitForFunction evals in the page, which the app's
    // Content-Security-Policy (no 'unsafe-eval') refuses.
    await expect.poll(async () => {
      const names = await page.locator('table.files tbody .fname').allTextContents();
      return names.indexOf('big.bin') >= 0 && names.indexOf('big.bin') < names.indexOf('second.bin');
    }).toBe(true);

    await fileRow(page, 'second.bin').getByLabel('Actions for second.bin').click();
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('New name').fill('renamed.bin');
    await page.getByRole('dialog').getByRole('button', { name: 'Rename' }).click();
    await fileRow(page, 'renamed.bin').waitFor();

    await fileRow(page, 'renamed.bin').getByLabel('Actions for renamed.bin').click();
    await page.getByRole('button', { name: 'Move' }).click();
    const move = page.getByRole('dialog', { name: 'Move “renamed.bin”' });
    await move.getByRole('button', { name: 'Open folder Projects' }).click();
    await move.getByText('Destination: Projects').waitFor();
    await move.getByRole('button', { name: 'Move here' }).click();
    await page.getByRole('row').filter({ hasText: 'renamed.bin' }).waitFor({ state: 'detached' });

    await page.getByRole('link', { name: /Projects/ }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: 'My drive' }).waitFor();
    await fileRow(page, 'renamed.bin').getByLabel('Actions for renamed.bin').click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('status').filter({ hasText: '“renamed.bin” was moved to the trash.' }).waitFor();

    await page.getByRole('link', { name: 'Trash' }).click();
    await page.getByRole('heading', { name: 'Trash', level: 1 }).waitFor();
    await shot(page, '11-trash');
    await page.getByRole('button', { name: 'Restore renamed.bin' }).click();
    await page.getByText('The trash is empty.').waitFor();
    await page.goBack();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    await fileRow(page, 'renamed.bin').waitFor();
    await shot(page, '12-folder');
  });
});
