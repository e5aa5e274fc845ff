/**
 * Thumbnails in the web app, in Chromium (playwright-core) against the all-in-one server as a
 * child process on embedded defaults: the drive's file list shows each image's thumbnail as a
 * lazy-loaded <img> (a non-image keeps its icon), and so does a shared folder's page for a
 * visitor; a password share's file page shows its larger thumbnail once unlocked.
 *
 * Needs /usr/bin/chromium; builds web/dist when it is missing or older than web/src.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadSmall } from '../support/app.ts';
import { gql } from '../support/graphql.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';
import { launchChromium, signIn } from '../support/browser.ts';
import { tempDir } from '../support/db.ts';
import { ensureWebBuilt } from '../support/browser-app.ts';

const PASSWORD = 'Correct-Horse-42';
const SHARE_PASSWORD = 'open-sesame-42';

let server: ServerProcess;
let inbox: Inbox;
let browser: Browser;
let username: string;
let token: string;

const image = (width: number, height: number, color: string, format: 'png' | 'jpeg') =>
  sharp({ create: { width, height, channels: 3, background: color } })[format]().toBuffer();

beforeAll(async () => {
  ensureWebBuilt();
  inbox = await startInbox();
  server = await startServerProcess({ DATA_DIR: tempDir('stratus-thumbs-'), SMTP_URL: inbox.url }, 60_000);
  username = `th${randomBytes(3).toString('hex')}`;
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

async function upload(name: string, bytes: Buffer, parentId: string, type: string): Promise<string> {
  const res = await uploadSmall(server.url, token, name, bytes, parentId, type);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.uploadFile.id;
}

/** Waits until the job made the file's thumbnail (the page shows what the API says at load). */
async function thumbnailReady(id: string): Promise<void> {
  await expect.poll(async () => {
    const res = await gql<{ file: { thumbnailUrl: string | null } }>(server.url, 'query($id: ID!) { file(id: $id) { thumbnailUrl } }', { id }, token);
    return res.data?.file.thumbnailUrl ?? null;
  }, { timeout: 30_000, interval: 200 }).not.toBeNull();
}

/** The row's <img class="thumb"> once loaded: its natural size and loading attribute. */
async function thumbOf(page: Page, rowName: string) {
  const img = page.getByRole('row').filter({ hasText: rowName }).locator('img.thumb');
  await img.waitFor();
  await expect.poll(() => img.evaluate((el) => el.complete && el.naturalWidth), { timeout: 15_000 }).toBeGreaterThan(0);
  return img.evaluate((el) => ({ width: el.naturalWidth, height: el.naturalHeight, loading: el.loading, src: el.src }));
}

describe('thumbnails in the web app', { timeout: 120_000 }, () => {
  let folderId: string;
  let photoId: string;

  it('the file list shows lazy-loaded thumbnails for images and the icon for a non-image', async () => {
    const folder = await gql<{ createFolder: { id: string } }>(server.url, 'mutation { createFolder(name: "Holiday") { id } }', {}, token);
    folderId = folder.data!.createFolder.id;
    photoId = await upload('beach.jpg', await image(1600, 1200, '#2288cc', 'jpeg'), folderId, 'image/jpeg');
    const logoId = await upload('logo.png', await image(300, 600, '#cc2200', 'png'), folderId, 'image/png');
    await upload('notes.txt', Buffer.from('not a picture'), folderId, 'text/plain');
    await thumbnailReady(photoId);
    await thumbnailReady(logoId);

    const context = await browser.newContext({ baseURL: server.url });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await signIn(page, username, PASSWORD);
    await page.getByRole('link', { name: 'Holiday' }).waitFor();
    await page.goto(`/folder/${folderId}`);
    // SMALL: 128 px on the longest edge.
    expect(await thumbOf(page, 'beach.jpg')).toMatchObject({ width: 128, height: 96, loading: 'lazy' });
    expect(await thumbOf(page, 'logo.png')).toMatchObject({ width: 64, height: 128, loading: 'lazy' });
    const notes = page.getByRole('row').filter({ hasText: 'notes.txt' });
    await expect.poll(() => notes.locator('img').count()).toBe(0);
    expect(await notes.locator('svg.ico-file').count()).toBe(1);
    await context.close();
  });

  it("a shared folder's page shows its images' thumbnails to a visitor; a password share's file page shows the larger one once unlocked", async () => {
    const share = await gql<{ createShare: { url: string } }>(server.url, 'mutation($i: CreateShareInput!) { createShare(input: $i) { url } }', { i: { fileId: folderId } }, token);
    const visitor = await browser.newContext();
    const page = await visitor.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(share.data!.createShare.url);
    const shown = await thumbOf(page, 'beach.jpg');
    // MEDIUM on the share page: 256 px on the longest edge, from the share's own route.
    expect(shown).toMatchObject({ width: 256, height: 192, loading: 'lazy' });
    expect(new URL(shown.src).pathname).toMatch(/^\/s\/[^/]+\/thumbnail\//);

    const locked = await gql<{ createShare: { url: string } }>(server.url, 'mutation($i: CreateShareInput!) { createShare(input: $i) { url } }', { i: { fileId: photoId, password: SHARE_PASSWORD } }, token);
    await page.goto(locked.data!.createShare.url);
    await page.getByLabel('Password').fill(SHARE_PASSWORD);
    await page.getByRole('button', { name: 'Open' }).click();
    const large = page.locator('img.thumb-large');
    await large.waitFor();
    await expect.poll(() => large.evaluate((el) => el.complete && el.naturalWidth), { timeout: 15_000 }).toBe(256);
    await visitor.close();
  });
});
