/**
 * The web app's Activity page in Chromium against the all-in-one server (`api/main.ts` as a child
 * process, sign-up codes through a real SMTP inbox): the header links to it; it lists the person's
 * sign-up, an upload and a rename newest first, with the file's current name linking to its
 * folder, the name it had once it is trashed, the time, and the address by network only.
 *
 * Needs /usr/bin/chromium (`bash scripts/lib/chromium.sh`); rebuilds web/dist when web/src is newer.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadSmall } from '../support/app.ts';
import { tempDir } from '../support/db.ts';
import { testEnv } from '../support/env.ts';
import { gql } from '../support/graphql.ts';
import { launchChromium } from '../support/browser.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const ARTIFACTS = path.join(testEnv.root, 'test/artifacts/browser');
const PASSWORD = 'Correct-Horse-42';
const suffix = randomBytes(3).toString('hex');
const USERNAME = `act${suffix}`;

let server: ServerProcess;
let inbox: Inbox;
let browser: Browser;
let page: Page;

function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const full = path.join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }, 0);
}

/** The rows of the activity table as [what, file] text, newest first. */
async function rows(): Promise<string[][]> {
  const table = page.getByRole('table', { name: 'Activity' });
  await table.waitFor();
  const body = table.locator('tbody tr');
  const out: string[][] = [];
  for (let i = 0; i < (await body.count()); i++) {
    const cells = body.nth(i).getByRole('cell');
    out.push([(await cells.nth(1).innerText()).trim(), (await cells.nth(2).innerText()).trim(), (await cells.nth(3).innerText()).trim()]);
  }
  return out;
}

beforeAll(async () => {
  const dist = path.join(testEnv.root, 'web/dist/index.html');
  if (!existsSync(dist) || statSync(dist).mtimeMs < newest(path.join(testEnv.root, 'web/src'))) {
    execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: testEnv.root, stdio: 'inherit' });
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  inbox = await startInbox();
  server = await startServerProcess({ DATA_DIR: tempDir('stratus-activity-'), SMTP_URL: inbox.url }, 60_000);
  browser = await launchChromium();
  const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await inbox?.close();
});

describe('the Activity page in Chromium', { timeout: 120_000 }, () => {
  it('serves the app for an /activity deep link', async () => {
    const res = await fetch(`${server.url}/activity`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<div id="root">');
  });

  it("shows a new account's sign-up from the header's Activity link", async () => {
    const email = `${USERNAME}@example.com`;
    await page.goto('/signup');
    await page.getByLabel('E-mail').fill(email);
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByLabel('Code from the e-mail').fill(await inbox.codeFor(email, 15_000));
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'My drive', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Activity' }).click();
    await page.getByRole('heading', { name: 'Activity', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/activity');
    const shown = await rows();
    expect(shown).toHaveLength(1);
    expect(shown[0]?.[0]).toBe('Signed in');
    // The browser's address by network only (the server sees loopback), and the browser named.
    expect(shown[0]?.[2]).toMatch(/^(127\.0\.0\.0|0:0:0::) · Chrome on Linux$/);
  });

  it('lists an upload and a rename newest first; the file links to its folder, and keeps its old name once trashed', async () => {
    const login = await gql<{ login: { accessToken: string } }>(server.url, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }', { u: USERNAME, p: PASSWORD });
    const token = login.data!.login.accessToken;
    const id = (await uploadSmall(server.url, token, 'report.txt', 'quarterly numbers')).data!.uploadFile.id;
    await gql(server.url, 'mutation($id: ID!) { renameFile(id: $id, name: "report-final.txt") { id } }', { id }, token);
    await page.reload();
    const shown = await rows();
    expect(shown.map((r) => r.slice(0, 2))).toEqual([
      ['Renamed', 'report-final.txt'],
      ['Uploaded', 'report-final.txt'],
      ['Signed in', ''],
      ['Signed in', ''],
    ]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'activity.png') });
    await page.getByRole('table', { name: 'Activity' }).getByRole('link', { name: 'report-final.txt' }).first().click();
    await page.getByRole('heading', { name: 'My drive', level: 1 }).waitFor();

    await gql(server.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id }, token);
    await page.goto('/activity');
    const after = await rows();
    expect(after[0]?.slice(0, 2)).toEqual(['Moved to trash', 'report-final.txt (no longer in your drive)']);
    expect(after[2]?.slice(0, 2)).toEqual(['Uploaded', 'report.txt (no longer in your drive)']);
  });
});
