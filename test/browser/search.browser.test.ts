/**
 * The drive page's search box in Chromium (issue 22 item 5) against the all-in-one server
 * (`api/main.ts` as a child process, sign-up codes through a real SMTP inbox): typing finds items
 * anywhere in the drive regardless of case and accents, each result shows the folder it sits in,
 * a click opens that folder, trashed items are not found, and a query of only wildcards shows no
 * results (and sends no search).
 *
 * Needs /usr/bin/chromium (`bash scripts/lib/chromium.sh`); rebuilds web/dist when web/src is newer.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from '../support/graphql.ts';
import type { ServerProcess } from '../support/server.ts';
import { BROWSER_ARTIFACTS, loginToken, signUpInBrowser, startBrowserApp, type BrowserApp } from '../support/browser-app.ts';

const PASSWORD = 'Correct-Horse-42';
const suffix = randomBytes(3).toString('hex');
const USERNAME = `find${suffix}`;

let app: BrowserApp;
let server: ServerProcess;
let page: Page;
let token: string;
const searches: string[] = [];

async function folder(name: string, parentId: string | null): Promise<string> {
  const res = await gql<{ createFolder: { id: string } }>(server.url, 'mutation($n: String!, $p: ID) { createFolder(name: $n, parentId: $p) { id } }', { n: name, p: parentId }, token);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createFolder.id;
}

beforeAll(async () => {
  app = await startBrowserApp('search');
  ({ server, page } = app);
  page.on('request', (request) => {
    const body = request.postData() ?? '';
    if (request.url().endsWith('/graphql') && body.includes('query Search')) searches.push(body);
  });
}, 180_000);

afterAll(() => app?.close());

describe('the search box in Chromium', { timeout: 120_000 }, () => {
  it('signs up; the drive has a search box in its header', async () => {
    const email = `find-${suffix}@example.com`;
    await signUpInBrowser(page, app.inbox, { username: USERNAME, password: PASSWORD, email });
    await page.getByRole('search').getByLabel('Search my drive').waitFor();
    token = await loginToken(server.url, USERNAME, PASSWORD);
  });

  it('finds items anywhere regardless of case and accents, with the folder each sits in, and opens it', async () => {
    const work = await folder('Work', null);
    const y2024 = await folder('2024', work);
    await folder('Résumé final', y2024);
    await folder('my RESUME notes', null);
    await folder('Holiday', null);
    const box = page.getByLabel('Search my drive');
    await box.fill('resume');
    const results = page.getByRole('region', { name: 'Search results' });
    await results.getByRole('status').filter({ hasText: '2 matches' }).waitFor();
    const items = results.getByRole('listitem');
    expect(await items.count()).toBe(2);
    // Best match first: "resume" starts a word in both; the newest change comes first.
    await expect(items.nth(0).textContent()).resolves.toContain('my RESUME notes');
    await expect(items.nth(1).textContent()).resolves.toContain('Résumé final');
    await expect(items.nth(1).textContent()).resolves.toContain('My drive / Work / 2024');
    await page.screenshot({ path: path.join(BROWSER_ARTIFACTS, 'search-results.png') });
    await results.getByRole('link', { name: 'Résumé final' }).click();
    await page.getByRole('heading', { name: 'Résumé final', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/folder\//);
  });

  it('does not find what is in the trash', async () => {
    const res = await gql<{ search: { edges: { node: { id: string } }[] } }>(server.url, '{ search(query: "holiday") { edges { node { id } } } }', {}, token);
    const id = res.data?.search.edges[0]?.node.id;
    expect(id).toBeDefined();
    await gql(server.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id }, token);
    const box = page.getByLabel('Search my drive');
    await box.fill('holiday');
    await page.getByRole('region', { name: 'Search results' }).getByText('Nothing named like “holiday”').waitFor();
  });

  it('shows nothing and sends no search for a query of only wildcards', async () => {
    const box = page.getByLabel('Search my drive');
    await box.fill('');
    await page.getByRole('region', { name: 'Search results' }).waitFor({ state: 'detached' });
    const before = searches.length;
    await box.fill('%_*');
    await page.waitForTimeout(800);
    expect(searches.length).toBe(before);
    expect(await page.getByRole('region', { name: 'Search results' }).count()).toBe(0);
  });
});
