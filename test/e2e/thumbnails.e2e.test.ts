/**
 * Thumbnails end to end, on the embedded default (SQLite, local disk, in-process queue) and on the
 * real stack (MariaDB, Redis, RabbitMQ, Ceph RGW): uploads through GraphQL, the job on the queue,
 * File.thumbnailUrl, GET /files/{id}/thumbnail read back with sharp.
 */
import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../internal/platform/logger.ts';
import type { Runtime } from '../../internal/platform/runtime.ts';
import { ThumbnailLinks } from '../../internal/thumbnails/thumbnail-links.ts';
import { ThumbnailRow } from '../../internal/thumbnails/thumbnails.entities.ts';
import { ThumbnailsRepository } from '../../internal/thumbnails/thumbnails.repository.ts';
import { THUMBNAIL_LIMITS, thumbnailKey } from '../../internal/thumbnails/thumbnails.rules.ts';
import { ThumbnailsService } from '../../internal/thumbnails/thumbnails.service.ts';
import { startTestApp, uploadSmall } from '../support/app.ts';
import { startEmbeddedApp } from '../support/embedded.ts';
import { testEnv } from '../support/env.ts';
import { gql } from '../support/graphql.ts';

interface Stack {
  url: string;
  runtime: Runtime;
  signUp(): Promise<{ token: string; userId: string }>;
  close(): Promise<void>;
}

const stacks: [string, () => Promise<Stack>][] = [
  ['embedded default (SQLite, local disk, in-process queue)', async () => {
    const e = await startEmbeddedApp();
    return { url: e.url, runtime: e.app.runtime, signUp: () => e.signUp(), close: () => e.close() };
  }],
  ['MariaDB + Redis + RabbitMQ + Ceph RGW', async () => {
    const t = await startTestApp({ env: { AMQP_URL: testEnv.amqpUrl, TRANSFER_AMQP_PREFIX: `test.thumbs.${randomBytes(4).toString('hex')}` } });
    return { url: t.url, runtime: t.app.runtime, signUp: () => t.signUp(), close: () => t.close() };
  }],
];

/**
 * A colour of its own for every image of every run: job requests are remembered per content for
 * 15 minutes in Redis, which every run shares, so a run must never upload an earlier run's bytes.
 */
const color = () => {
  const [r = 0, g = 0, b = 0] = randomBytes(3);
  return { r, g, b };
};

const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: color() } }).png().toBuffer();

/** A PNG of a few hundred bytes whose header declares width × height (a decompression bomb). */
function bombPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale
  // The first rows' worth of zeros: valid deflate, and what a real bomb starts with.
  const idat = deflateSync(Buffer.alloc(64 * 1024), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('tEXt', Buffer.from(`Comment\0${randomBytes(8).toString('hex')}`)), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

const THUMB_QUERY = 'query($id: ID!, $s: ThumbnailSize) { file(id: $id) { id thumbnailUrl(size: $s) } }';

describe.each(stacks)('thumbnails on %s', (_name, start) => {
  let stack: Stack;
  let alice: { token: string; userId: string };
  let bob: { token: string; userId: string };

  beforeAll(async () => {
    stack = await start();
    alice = await stack.signUp();
    bob = await stack.signUp();
  }, 120_000);
  afterAll(async () => stack?.close());

  const upload = async (token: string, name: string, bytes: Buffer, type: string) => {
    const res = await uploadSmall(stack.url, token, name, bytes, null, type);
    const file = res.data?.uploadFile;
    if (!file) throw new Error(`upload failed: ${JSON.stringify(res.errors)}`);
    return file;
  };
  const thumbnailUrl = async (token: string, id: string, size?: string) => {
    const res = await gql<{ file: { thumbnailUrl: string | null } }>(stack.url, THUMB_QUERY, { id, s: size }, token);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data?.file.thumbnailUrl ?? null;
  };
  const waitForUrl = async (token: string, id: string, size?: string) => {
    let url: string | null = null;
    await expect.poll(async () => (url = await thumbnailUrl(token, id, size)), { timeout: 30_000, interval: 200 }).not.toBeNull();
    return url as unknown as string;
  };
  const rowsOf = (contentHash: string) => stack.runtime.orm.em.fork().find(ThumbnailRow, { contentHash });
  const waitForRow = async (contentHash: string) => {
    await expect.poll(async () => (await rowsOf(contentHash)).length, { timeout: 30_000, interval: 200 }).toBe(1);
    return (await rowsOf(contentHash))[0]!;
  };
  const fetchImage = async (url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { headers });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };

  it.each([
    ['photo.jpg', 'image/jpeg', () => sharp({ create: { width: 2000, height: 1500, channels: 3, background: color() } }).jpeg().toBuffer(), { SMALL: [128, 96], MEDIUM: [256, 192], LARGE: [1024, 768] }],
    ['small.png', 'image/png', () => png(300, 200), { SMALL: [128, 85], MEDIUM: [256, 171], LARGE: [300, 200] }],
    ['tall.webp', 'image/webp', () => sharp({ create: { width: 400, height: 1600, channels: 4, background: { ...color(), alpha: 0.5 } } }).webp().toBuffer(), { SMALL: [32, 128], MEDIUM: [64, 256], LARGE: [256, 1024] }],
    ['anim.gif', 'image/gif', () => sharp({ create: { width: 500, height: 500, channels: 3, background: color() } }).gif().toBuffer(), { SMALL: [128, 128], MEDIUM: [256, 256], LARGE: [500, 500] }],
  ] as const)('%s gets WebP thumbnails of the right dimensions in every size', async (name, type, make, expected) => {
    const file = await upload(alice.token, name, await make(), type);
    for (const [size, [width, height]] of Object.entries(expected)) {
      const url = await waitForUrl(alice.token, file.id, size);
      // Loadable as it is, as an <img> loads it: no Authorization header.
      const { res, body } = await fetchImage(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+, immutable$/);
      const meta = await sharp(body).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', width, height]);
      // Revalidation by its ETag.
      const again = await fetch(url, { headers: { 'if-none-match': res.headers.get('etag') ?? '' } });
      expect(again.status).toBe(304);
    }
  }, 90_000);

  it('two files with the same content share one thumbnail row and object', async () => {
    const bytes = await png(640, 480);
    const a = await upload(alice.token, 'same.png', bytes, 'image/png');
    const b = await upload(bob.token, 'copy of same.png', bytes, 'image/png');
    const [urlA, urlB] = [await waitForUrl(alice.token, a.id), await waitForUrl(bob.token, b.id)];
    expect(await rowsOf(a.contentHash)).toHaveLength(1);
    const [imgA, imgB] = [await fetchImage(urlA), await fetchImage(urlB)];
    expect(imgA.res.headers.get('etag')).toBe(imgB.res.headers.get('etag'));
    expect(imgA.body.equals(imgB.body)).toBe(true);
    // One object for that content and size, in the blob's backend.
    const row = (await rowsOf(a.contentHash))[0]!;
    const head = await stack.runtime.storage.store(row.backend).head(thumbnailKey({ contentHash: a.contentHash, size: a.size }, 'MEDIUM'));
    expect(head?.size).toBe(imgA.body.length);
  }, 60_000);

  it('a corrupt image is marked FAILED once (acked, not retried) and its thumbnailUrl stays null', async () => {
    const jpeg = await sharp({ create: { width: 800, height: 600, channels: 3, background: color() } }).jpeg().toBuffer();
    const corrupt = Buffer.concat([jpeg.subarray(0, 700), randomBytes(20_000)]);
    const noise = await upload(alice.token, 'noise.png', randomBytes(5_000), 'image/png');
    const broken = await upload(alice.token, 'broken.jpg', corrupt, 'image/jpeg');
    for (const file of [noise, broken]) {
      const row = await waitForRow(file.contentHash);
      expect(row.status).toBe('FAILED');
      expect(row.reason).toBe('corrupt');
      expect(await thumbnailUrl(alice.token, file.id)).toBeNull();
    }
  }, 60_000);

  it('a decompression bomb (a small PNG declaring 30000×30000) and a 100-megapixel image are refused with bounded memory', async () => {
    const bomb = bombPng(30_000, 30_000);
    expect(bomb.length).toBeLessThan(2_000);
    const huge = await sharp({ create: { width: 12_000, height: 8_400, channels: 3, background: color() } }).jpeg({ quality: 50 }).toBuffer();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      for (const [name, bytes] of [['bomb.png', bomb], ['huge.jpg', huge]] as const) {
        const file = await upload(alice.token, name, bytes, name.endsWith('png') ? 'image/png' : 'image/jpeg');
        const row = await waitForRow(file.contentHash);
        expect([row.status, row.reason]).toEqual(['FAILED', 'too_many_pixels']);
        expect(await thumbnailUrl(alice.token, file.id)).toBeNull();
      }
    } finally {
      clearInterval(sampler);
    }
    // Decoding either would take 900 MB (the bomb, greyscale) or 300 MB (the photo, RGB).
    const growthMiB = (peak - before) / 2 ** 20;
    console.log(`thumbnails: RSS growth while refusing the bomb and the 100 MP image: ${growthMiB.toFixed(1)} MiB`);
    expect(growthMiB).toBeLessThan(96);
  }, 90_000);

  it('a non-image and a folder have no thumbnail', async () => {
    const text = await upload(alice.token, 'notes.txt', Buffer.from(`not an image at all ${randomBytes(4).toString('hex')}`), 'text/plain');
    const folder = await gql<{ createFolder: { id: string } }>(stack.url, 'mutation { createFolder(name: "pics") { id } }', {}, alice.token);
    expect(await thumbnailUrl(alice.token, text.id)).toBeNull();
    expect(await thumbnailUrl(alice.token, folder.data!.createFolder.id)).toBeNull();
    // An image-looking name with text inside: the job reads the header and says so.
    const fake = await upload(alice.token, 'fake.gif', Buffer.from(`GIF? no, plain text ${randomBytes(4).toString('hex')}`), 'image/gif');
    const row = await waitForRow(fake.contentHash);
    expect(row.status).toBe('FAILED');
    expect(await thumbnailUrl(alice.token, fake.id)).toBeNull();
  }, 60_000);

  it("another person's file: no URL, its thumbnail NOT_FOUND with a token or someone else's signature", async () => {
    const file = await upload(bob.token, 'bob.png', await png(200, 200), 'image/png');
    const bobsUrl = await waitForUrl(bob.token, file.id);
    // Alice asking for Bob's file by id: NOT_FOUND, as for any unknown id.
    const asAlice = await gql(stack.url, THUMB_QUERY, { id: file.id }, alice.token);
    expect(asAlice.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const byToken = await fetch(`${stack.url}/files/${file.id}/thumbnail`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(byToken.status).toBe(404);
    expect(((await byToken.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    // Alice's signature for her own file does not open Bob's.
    const mine = await upload(alice.token, 'mine.png', await png(200, 200), 'image/png');
    const aliceUrl = new URL(await waitForUrl(alice.token, mine.id));
    const forged = new URL(bobsUrl);
    forged.searchParams.set('sig', aliceUrl.searchParams.get('sig') ?? '');
    expect((await fetch(forged)).status).toBe(404);
    // A signature for MEDIUM does not open LARGE.
    const otherSize = new URL(bobsUrl);
    otherSize.searchParams.set('size', 'LARGE');
    expect((await fetch(otherSize)).status).toBe(404);
    // No credentials at all: 401; a bad size: 400.
    expect((await fetch(`${stack.url}/files/${file.id}/thumbnail`)).status).toBe(401);
    expect((await fetch(`${stack.url}/files/${file.id}/thumbnail?size=HUGE`, { headers: { authorization: `Bearer ${bob.token}` } })).status).toBe(400);
    // With Bob's own token: the image.
    const own = await fetch(`${stack.url}/files/${file.id}/thumbnail?size=SMALL`, { headers: { authorization: `Bearer ${bob.token}` } });
    expect(own.status).toBe(200);
  }, 60_000);

  it("a share's visitors get its files' thumbnails under the share's rules (password, revocation)", async () => {
    const folder = await gql<{ createFolder: { id: string } }>(stack.url, 'mutation { createFolder(name: "shared pics") { id } }', {}, alice.token);
    const folderId = folder.data!.createFolder.id;
    const res = await uploadSmall(stack.url, alice.token, 'inside.png', await png(400, 300), folderId, 'image/png');
    const file = res.data!.uploadFile;
    await waitForUrl(alice.token, file.id);
    const create = async (password?: string) => (await gql<{ createShare: { id: string; token: string } }>(
      stack.url, 'mutation($i: CreateShareInput!) { createShare(input: $i) { id token } }', { i: { fileId: folderId, ...(password ? { password } : {}) } }, alice.token)).data!.createShare;
    const visit = async (token: string, unlockToken?: string) => {
      const r = await gql<{ share: { item: { children: { edges: { node: { name: string; thumbnailUrl: string | null } }[] } } } }>(
        stack.url, 'query($t: String!, $u: String, $id: ID) { share(token: $t, unlockToken: $u) { item(id: $id) { children { edges { node { name thumbnailUrl(size: SMALL) } } } } } }', { t: token, u: unlockToken ?? null, id: null });
      return r.data?.share.item.children.edges.find((e) => e.node.name === 'inside.png')?.node.thumbnailUrl ?? null;
    };
    const open = await create();
    const url = await visit(open.token);
    expect(url).toMatch(new RegExp(`/s/${open.token}/thumbnail/${file.id}\\?size=SMALL`));
    const { res: got, body } = await fetchImage(url!);
    expect(got.status).toBe(200);
    expect(got.headers.get('cache-control')).toBe('private, max-age=3600, immutable');
    expect((await sharp(body).metadata()).width).toBe(128);

    const locked = await create('pw-123456');
    const unlock = (await gql<{ unlockShare: string }>(stack.url, 'mutation($t: String!, $p: String!) { unlockShare(token: $t, password: $p) }', { t: locked.token, p: 'pw-123456' })).data!.unlockShare;
    const lockedUrl = await visit(locked.token, unlock);
    expect(new URL(lockedUrl!).searchParams.get('unlock')).toBe(unlock);
    expect((await fetch(lockedUrl!)).status).toBe(200);
    const withoutUnlock = new URL(lockedUrl!);
    withoutUnlock.searchParams.delete('unlock');
    expect((await fetch(withoutUnlock)).status).toBe(401);

    await gql(stack.url, 'mutation($id: ID!) { revokeShare(id: $id) }', { id: open.id }, alice.token);
    expect((await fetch(url!)).status).toBe(404);
  }, 60_000);

  it('content stored before thumbnails existed (no row, no request remembered) gets its thumbnail once listed', async () => {
    const file = await upload(alice.token, 'old.png', await png(500, 400), 'image/png');
    await waitForUrl(alice.token, file.id);
    // As before this feature: no row, no remembered request.
    await stack.runtime.orm.em.fork().nativeDelete(ThumbnailRow, { contentHash: file.contentHash });
    await stack.runtime.kv.del(`thumbnails:asked:${file.contentHash}:${file.size}`);
    expect(await thumbnailUrl(alice.token, file.id)).toBeNull();
    const url = await waitForUrl(alice.token, file.id);
    expect((await fetchImage(url)).res.status).toBe(200);
    expect(await rowsOf(file.contentHash)).toHaveLength(1);
  }, 60_000);

  it("purging a blob's last file deletes its thumbnails (row and objects) at the next sweep", async () => {
    const file = await upload(alice.token, 'gone.png', await png(333, 222), 'image/png');
    const url = await waitForUrl(alice.token, file.id);
    const row = await waitForRow(file.contentHash);
    const store = stack.runtime.storage.store(row.backend);
    const key = { contentHash: file.contentHash, size: file.size };
    expect(await store.head(thumbnailKey(key, 'SMALL'))).not.toBeNull();
    await gql(stack.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: file.id }, alice.token);
    await gql(stack.url, 'mutation($id: ID!) { purgeFile(id: $id) }', { id: file.id }, alice.token);
    // The sweeper runs every minute; the test runs one now.
    const sweeper = new ThumbnailsService(new ThumbnailsRepository(stack.runtime.orm), stack.runtime.storage, new Promise(() => undefined), { content: async () => { throw new Error('unused'); } }, new ThumbnailLinks(stack.runtime.config.jwtSecret), THUMBNAIL_LIMITS, createLogger({ level: 'silent' }));
    expect(await sweeper.sweep()).toBeGreaterThanOrEqual(1);
    expect(await rowsOf(file.contentHash)).toHaveLength(0);
    for (const size of ['SMALL', 'MEDIUM', 'LARGE'] as const) expect(await store.head(thumbnailKey(key, size))).toBeNull();
    expect((await fetch(url)).status).toBe(404);
  }, 60_000);
});
