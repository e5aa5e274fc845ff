/**
 * The web app's Activity page in Chromium against the all-in-one server (`api/main.ts` as a child
 * process, sign-up codes through a real SMTP inbox): the header links to it; it lists the person's
 * sign-up, an upload and a rename newest first, with the file's current name linking to its
 * folder, the name it had once it is trashed, the time, and the address by network only.
 *
 * Needs /usr/bin/chromium (`bash scripts/lib/chromium.sh`); rebuilds web/dist when web/src is newer.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadSmall } from '../support/app.ts';
import { gql } from '../support/graphql.ts';
import { BROWSER_ARTIFACTS, loginToken, signUpInBrowser, startBrowserApp, type BrowserApp } from '../support/browser-app.ts';
import type { ServerProcess } from '../support/server.ts';

const PASSWORD = 'Correct-Horse-42';
const suffix = randomBytes(3).toString('hex');
const USERNAME = `act${suffix}`;

let app: BrowserApp;
let server: ServerProcess;
let page: Page;

/** The rows of the activity table as [what, file] text, newest first. */
async function rows(): Promise<string[][]> {
  const table = page.getByRole('table', { name: 'Activity' });
  await table.waitFor();
  const body = table.locator('tbody tr');
  // The table shows before its first page arrives: wait for a row (every caller expects some).
  await body.first().waitFor();
  const out: string[][] = [];
  for (let i = 0; i < (await body.count()); i++) {
    const cells = body.nth(i).getByRole('cell');
    out.push([(await cells.nth(1).innerText()).trim(), (await cells.nth(2).innerText()).trim(), (await cells.nth(3).innerText()).trim()]);
  }
  return out;
}

beforeAll(async () => {
  app = await startBrowserApp('activity');
  ({ server, page } = app);
}, 180_000);

afterAll(() => app?.close());

describe('the Activity page in Chromium', { timeout: 120_000 }, () => {
  it('serves the app for an /activity deep link', async () => {
    const res = await fetch(`${server.url}/activity`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<div id="root">');
  });

  it("shows a new account's sign-up from the header's Activity link", async () => {
    const email = `${USERNAME}@example.com`;
    await signUpInBrowser(page, app.inbox, { username: USERNAME, password: PASSWORD, email });
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
    const token = await loginToken(server.url, USERNAME, PASSWORD);
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
    await page.screenshot({ path: path.join(BROWSER_ARTIFACTS, 'activity.png') });
    await page.getByRole('table', { name: 'Activity' }).getByRole('link', { name: 'report-final.txt' }).first().click();
    await page.getByRole('heading', { name: 'My drive', level: 1 }).waitFor();

    await gql(server.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id }, token);
    await page.goto('/activity');
    const after = await rows();
    expect(after[0]?.slice(0, 2)).toEqual(['Moved to trash', 'report-final.txt (no longer in your drive)']);
    expect(after[2]?.slice(0, 2)).toEqual(['Uploaded', 'report.txt (no longer in your drive)']);
  });
});
