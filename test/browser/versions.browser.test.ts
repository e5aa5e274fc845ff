/**
 * File versions in the web app, in Chromium against the all-in-one server (`api/main.ts` as a
 * child process on embedded defaults, sign-up codes through a real SMTP inbox): a file uploaded
 * twice, the second time with conflict NEW_VERSION, has one older version; the drive's "Versions"
 * action lists it with its size and date, downloads its bytes, and restores it — the file then
 * has the first content again and the second one is the version.
 *
 * Needs /usr/bin/chromium (`bash scripts/lib/chromium.sh`); rebuilds web/dist when web/src is newer.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from '../support/graphql.ts';
import type { ServerProcess } from '../support/server.ts';
import { BROWSER_ARTIFACTS, loginToken, signUpInBrowser, startBrowserApp, type BrowserApp } from '../support/browser-app.ts';

const PASSWORD = 'Correct-Horse-42';
const USERNAME = `ver${randomBytes(3).toString('hex')}`;
const FIRST = 'the first draft of the plan';
const SECOND = 'the second, longer draft of the plan';

let app: BrowserApp;
let server: ServerProcess;
let page: Page;

/** uploadFile (GraphQL multipart) with a conflict policy. */
async function upload(token: string, name: string, body: string, conflict: 'FAIL' | 'NEW_VERSION'): Promise<{ id: string; size: number }> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: 'mutation($f: Upload!, $c: ConflictPolicy) { uploadFile(file: $f, conflict: $c) { id size } }', variables: { f: null, c: conflict } }));
  form.append('map', JSON.stringify({ 0: ['variables.f'] }));
  form.append('0', new Blob([body], { type: 'text/plain' }), name);
  const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, body: form });
  const json = (await res.json()) as { data?: { uploadFile: { id: string; size: number } }; errors?: unknown };
  if (!json.data) throw new Error(JSON.stringify(json.errors));
  return json.data.uploadFile;
}

beforeAll(async () => {
  app = await startBrowserApp('versions', { context: { acceptDownloads: true } });
  ({ server, page } = app);
}, 180_000);

afterAll(() => app?.close());

describe('file versions in Chromium', { timeout: 120_000 }, () => {
  it('lists the older version with size and date, downloads it, and restores it', async () => {
    const email = `${USERNAME}@example.com`;
    await signUpInBrowser(page, app.inbox, { username: USERNAME, password: PASSWORD, email });

    const token = await loginToken(server.url, USERNAME, PASSWORD);
    const first = await upload(token, 'plan.txt', FIRST, 'FAIL');
    const second = await upload(token, 'plan.txt', SECOND, 'NEW_VERSION');
    expect(second.id).toBe(first.id);

    await page.reload();
    await page.getByLabel('Actions for plan.txt').click();
    await page.getByRole('button', { name: 'Versions', exact: true }).click();
    const table = page.getByRole('table', { name: 'Versions' });
    await table.waitFor();
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain(`${FIRST.length} B`);
    await page.screenshot({ path: path.join(BROWSER_ARTIFACTS, 'versions.png') });

    const [download] = await Promise.all([page.waitForEvent('download'), rows.first().getByRole('button', { name: /^Download/ }).click()]);
    expect(download.suggestedFilename()).toBe('plan.txt');
    expect(readFileSync((await download.path())!, 'utf8')).toBe(FIRST);

    await rows.first().getByRole('button', { name: /^Restore/ }).click();
    await table.waitFor({ state: 'detached' });
    const content = await fetch(`${server.url}/files/${first.id}/content`, { headers: { authorization: `Bearer ${token}` } });
    expect(await content.text()).toBe(FIRST);
    const listed = await gql<{ file: { versions: { size: number }[] } }>(server.url, 'query($id: ID!) { file(id: $id) { versions { size } } }', { id: first.id }, token);
    expect(listed.data!.file.versions.map((v) => v.size)).toEqual([SECOND.length]);

    // The list shows the content that was current before the restore.
    await page.getByLabel('Actions for plan.txt').click();
    await page.getByRole('button', { name: 'Versions', exact: true }).click();
    await expect.poll(async () => page.getByRole('table', { name: 'Versions' }).locator('tbody tr').first().innerText()).toContain(`${SECOND.length} B`);
  });
});
