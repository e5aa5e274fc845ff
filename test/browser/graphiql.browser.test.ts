/**
 * GraphiQL at /graphiql in a real browser (Debian's Chromium driven by playwright-core) against the
 * all-in-one server (`api/main.ts` as a child process, development mode): the page introspects the
 * schema with GraphiQL's own introspection query, and the docs explorer lists the Query fields.
 * Without it GraphiQL shows "Error fetching schema" and has neither docs nor completion.
 *
 * Needs /usr/bin/chromium (`bash scripts/lib/chromium.sh`).
 */
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/db.ts';
import { launchChromium } from '../support/browser.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';


let server: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  server = await startServerProcess({ DATA_DIR: tempDir('stratus-graphiql-') });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function openGraphiQL(): Promise<{ page: Page; introspections: { status: number; body: string }[]; pageErrors: string[]; cspViolations: string[] }> {
  const page = await browser.newPage({ baseURL: server.url });
  page.setDefaultTimeout(20_000);
  const introspections: { status: number; body: string }[] = [];
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // The page's Content-Security-Policy allows no inline script (issue 17): anything it blocks
  // is reported on the console ("Refused to … because it violates the … Content Security Policy").
  const cspViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  page.on('response', async (response) => {
    if (!response.url().endsWith('/graphql') || !response.request().postData()?.includes('__schema')) return;
    introspections.push({ status: response.status(), body: await response.text().catch(() => '') });
  });
  await page.goto('/graphiql');
  return { page, introspections, pageErrors, cspViolations };
}

describe('GraphiQL in Chromium', () => {
  it('loads the schema and the docs explorer lists the Query fields', async () => {
    const { page, introspections, pageErrors, cspViolations } = await openGraphiQL();
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    // The root types appear once the schema is loaded; "Query" opens the list of its fields.
    await docs.getByRole('link', { name: 'Query', exact: true }).click();
    for (const field of ['me', 'folder', 'file', 'trash', 'shares']) {
      await expect.poll(() => docs.locator('.graphiql-doc-explorer-field-name', { hasText: new RegExp(`^${field}$`) }).count(), { message: field }).toBeGreaterThan(0);
    }
    expect(await page.getByText('Error fetching schema').count()).toBe(0);
    expect(introspections.length).toBeGreaterThan(0);
    expect(introspections.every((r) => r.status === 200 && !r.body.includes('"errors"'))).toBe(true);
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect((await page.request.get('/graphiql')).headers()['content-security-policy']).toMatch(/script-src 'self';/);
    await page.close();
  });
});
