/**
 * What every browser test of the web app sets up: web/dist built from the current web/src, the
 * all-in-one server as a child process with a real SMTP inbox for sign-up codes, Chromium with one
 * page on the server, and a person signed up through the app's own /signup form.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { tempDir } from './db.ts';
import { testEnv } from './env.ts';
import { gql } from './graphql.ts';
import { startServerProcess, type ServerProcess } from './server.ts';
import { startInbox, type Inbox } from './smtp.ts';

export const BROWSER_ARTIFACTS = path.join(testEnv.root, 'test/artifacts/browser');

function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const full = path.join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }, 0);
}

/** Builds web/dist when it is missing or older than anything in web/src. */
export function ensureWebBuilt(): void {
  const dist = path.join(testEnv.root, 'web/dist/index.html');
  if (!existsSync(dist) || statSync(dist).mtimeMs < newest(path.join(testEnv.root, 'web/src'))) {
    execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: testEnv.root, stdio: 'inherit' });
  }
}

export interface BrowserApp {
  server: ServerProcess;
  inbox: Inbox;
  browser: Browser;
  /** A page of a context whose baseURL is the server (30 s default timeout, page errors logged). */
  page: Page;
  close(): Promise<void>;
}

export async function startBrowserApp(name: string, options: { env?: Record<string, string>; context?: BrowserContextOptions } = {}): Promise<BrowserApp> {
  ensureWebBuilt();
  mkdirSync(BROWSER_ARTIFACTS, { recursive: true });
  const inbox = await startInbox();
  const server = await startServerProcess({ DATA_DIR: tempDir(`stratus-${name}-`), SMTP_URL: inbox.url, ...options.env }, 60_000);
  const browser = await launchChromium();
  const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 }, ...options.context });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  return {
    server, inbox, browser, page,
    close: async () => {
      await browser.close();
      await server.stop();
      await inbox.close();
    },
  };
}

/** Signs up through /signup (e-mail code, username, password) and waits for the drive. */
export async function signUpInBrowser(page: Page, inbox: Inbox, person: { username: string; password: string; email?: string }): Promise<void> {
  const email = person.email ?? `${person.username}@example.com`;
  await page.goto('/signup');
  await page.getByLabel('E-mail').fill(email);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByLabel('Code from the e-mail').fill(await inbox.codeFor(email, 15_000));
  await page.getByLabel('Username').fill(person.username);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'My drive', level: 1 }).waitFor();
}

/** An access token for a person who exists (GraphQL login). */
export async function loginToken(serverUrl: string, username: string, password: string): Promise<string> {
  const login = await gql<{ login: { accessToken: string } }>(serverUrl, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }', { u: username, p: password });
  if (!login.data) throw new Error(JSON.stringify(login.errors));
  return login.data.login.accessToken;
}
