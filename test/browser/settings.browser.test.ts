/**
 * The web app's Settings page in Chromium (issue 19 item 5) against the all-in-one server
 * (`api/main.ts` as a child process, sign-up codes through a real SMTP inbox): a `/settings` deep
 * link opens the app; a token created there shows its secret once, works as `Authorization:
 * Bearer` on GraphQL, is listed with its last use, and after a confirmed revoke is refused
 * (UNAUTHENTICATED); the WebDAV address shown is the origin + /dav/.
 *
 * Needs /usr/bin/chromium (`bash scripts/lib/chromium.sh`); rebuilds web/dist when web/src is newer.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/db.ts';
import { testEnv } from '../support/env.ts';
import { errorCode, gql } from '../support/graphql.ts';
import { launchChromium } from '../support/browser.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const ARTIFACTS = path.join(testEnv.root, 'test/artifacts/browser');
const PASSWORD = 'Correct-Horse-42';
const suffix = randomBytes(3).toString('hex');
const TOKEN_NAME = `laptop-${suffix}`;

let server: ServerProcess;
let inbox: Inbox;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let secret: string;

/** Newest modification time under a directory (to rebuild web/dist when web/src is newer). */
function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const full = path.join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }, 0);
}

const tokenRow = () => page.getByRole('row').filter({ has: page.getByText(TOKEN_NAME, { exact: true }) });
const me = (token: string) => gql<{ me: { username: string } }>(server.url, '{ me { username } }', {}, token);

beforeAll(async () => {
  const dist = path.join(testEnv.root, 'web/dist/index.html');
  if (!existsSync(dist) || statSync(dist).mtimeMs < newest(path.join(testEnv.root, 'web/src'))) {
    execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: testEnv.root, stdio: 'inherit' });
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  inbox = await startInbox();
  server = await startServerProcess({ DATA_DIR: tempDir('stratus-settings-'), SMTP_URL: inbox.url }, 60_000);
  browser = await launchChromium();
  context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await inbox?.close();
});

describe('the Settings page in Chromium', { timeout: 120_000 }, () => {
  it('serves the app for a /settings deep link', async () => {
    const res = await fetch(`${server.url}/settings`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<div id="root">');
  });

  it('signs up and opens Settings from the header', async () => {
    const email = `set-${suffix}@example.com`;
    await page.goto('/signup');
    await page.getByLabel('E-mail').fill(email);
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByLabel('Code from the e-mail').fill(await inbox.codeFor(email, 15_000));
    await page.getByLabel('Username').fill(`set${suffix}`);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'My drive', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/settings');
    await page.getByText('No access tokens yet.').waitFor();
  });

  it('shows the WebDAV address (origin + /dav/) with a copy button', async () => {
    const shown = await page.getByTestId('webdav-url').inputValue();
    expect(shown).toBe(`${new URL(server.url).origin}/dav/`);
    await page.getByRole('region', { name: 'WebDAV' }).getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('region', { name: 'WebDAV' }).getByRole('button', { name: 'Copied ✓' }).waitFor();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(shown);
  });

  it('creates a token, shows its secret once, and the secret works as a Bearer token', async () => {
    const form = page.getByRole('form', { name: 'New access token' });
    await form.getByLabel('Name').fill(TOKEN_NAME);
    await form.getByLabel('Read and write').check();
    await form.getByRole('button', { name: 'Create token' }).click();
    await page.getByText(/it will not be shown again/).waitFor();
    secret = await page.getByTestId('token-secret').inputValue();
    expect(secret).toMatch(/^stp_/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'settings-token-created.png') });
    await expect(me(secret)).resolves.toMatchObject({ data: { me: { username: `set${suffix}` } } });
    await expect(tokenRow().getByRole('cell').nth(1).textContent()).resolves.toBe('Read and write');
    // Gone once dismissed, and never on a reload: only the hash is kept.
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('token-secret').count()).toBe(0);
    await page.reload();
    await tokenRow().waitFor();
    expect(await page.content()).not.toContain(secret);
  });

  it('lists the token with its last use', async () => {
    const lastUsed = tokenRow().getByRole('cell').nth(3);
    for (let i = 0; (await lastUsed.textContent()) === 'Never'; i++) {
      if (i > 20) throw new Error('last use never shown');
      await sleep(250);
      await page.reload();
    }
    expect(await lastUsed.textContent()).not.toBe('');
  });

  it('revokes the token after a confirmation; the secret is then refused', async () => {
    await tokenRow().getByRole('button', { name: `Revoke ${TOKEN_NAME}` }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke “${TOKEN_NAME}”?` });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await tokenRow().count()).toBe(1);
    await expect(me(secret)).resolves.toMatchObject({ data: { me: { username: `set${suffix}` } } });
    await tokenRow().getByRole('button', { name: `Revoke ${TOKEN_NAME}` }).click();
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    await page.getByText('No access tokens yet.').waitFor();
    expect(errorCode(await me(secret))).toBe('UNAUTHENTICATED');
  });
});
