/**
 * uploadFile with `size` (the CLI and the web app send it) on MariaDB, Redis and Ceph: the bytes
 * are streamed on to RGW as they arrive, so the declared length is binding. A body of another
 * length is BAD_INPUT size-mismatch with no file made and no byte charged; a size over the space
 * left or over the limit of this way is refused before a byte is stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { gql, quotaUsed, rootNames } from '../support/graphql.ts';

let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await startTestApp({ env: { DEFAULT_QUOTA_BYTES: String(64 * 1024 * 1024) } });
  token = (await t.signUp()).token;
});
afterAll(() => t?.close());

type Answer = Awaited<ReturnType<typeof uploadSmall>>;

/** uploadFile declaring `size` (any JSON value). */
const upload = (name: string, body: Buffer, size: unknown): Promise<Answer> => uploadSmall(t.url, token, name, body, null, 'text/plain', size);

const refusal = (a: Answer) => `${a.errors?.[0]?.extensions?.code}${a.errors?.[0]?.extensions?.details?.reason ? `:${a.errors[0].extensions.details.reason}` : ''}`;
const used = () => quotaUsed(t.url, token);
const names = () => rootNames(t.url, token);

describe('uploadFile with a declared size', () => {
  it('stores the file byte for byte and reads it back', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const answer = await upload('sized.txt', body, body.length);
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.uploadFile.size).toBe(body.length);
    const link = await gql<{ createDownloadLink: { url: string } }>(t.url, 'mutation($id: ID!) { createDownloadLink(id: $id) { url } }', { id: answer.data?.uploadFile.id }, token);
    const res = await fetch(link.data?.createDownloadLink.url ?? '');
    const back = Buffer.from(await res.arrayBuffer());
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    expect(await used()).toBe(body.length);
  });

  it('refuses a body longer or shorter than declared and keeps nothing', async () => {
    const before = await used();
    const body = randomBytes(256 * 1024);
    expect(refusal(await upload('short.txt', body, body.length + 1))).toBe('BAD_INPUT:size-mismatch');
    expect(refusal(await upload('long.txt', body, body.length - 1))).toBe('BAD_INPUT:size-mismatch');
    expect(await names()).not.toEqual(expect.arrayContaining(['short.txt']));
    expect(await names()).not.toEqual(expect.arrayContaining(['long.txt']));
    expect(await used()).toBe(before);
    // The name is still free: the refused uploads left nothing behind.
    expect((await upload('short.txt', body, body.length)).data?.uploadFile.size).toBe(body.length);
  });

  it('refuses a size over the space left or over what uploadFile takes, before storing a byte', async () => {
    const before = await used();
    expect(refusal(await upload('huge.txt', Buffer.from('tiny'), 1024 * 1024 * 1024))).toBe('QUOTA_EXCEEDED');
    expect(refusal(await upload('bad.txt', Buffer.from('tiny'), -4))).toBe('BAD_INPUT:bad_user_input');
    expect(refusal(await upload('bad.txt', Buffer.from('tiny'), 4.5))).toBe('BAD_INPUT:bad_user_input');
    expect(await used()).toBe(before);
    expect(await names()).not.toEqual(expect.arrayContaining(['huge.txt', 'bad.txt']));
  });
});
