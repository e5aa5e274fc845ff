/**
 * A brand-new account's very first action (issue 16, item 2): the person's drive rows (root folder,
 * quota) exist from registration, so nothing a fresh account does first fails for their lack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { errorCode, gql } from '../support/graphql.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

describe('a fresh account', () => {
  it("saves someone else's share as its very first action: the copy appears and the quota is charged", async () => {
    const owner = await t.signUp();
    const bytes = Buffer.from('shared bytes for a fresh account');
    const fileId = (await uploadSmall(t.url, owner.token, 'welcome.txt', bytes)).data!.uploadFile.id;
    const share = await gql<{ createShare: { token: string } }>(t.url, 'mutation($f: ID!) { createShare(input: { fileId: $f }) { token } }', { f: fileId }, owner.token);
    const token = share.data!.createShare.token;

    const fresh = await t.signUp();
    const saved = await gql<{ saveShare: { id: string; name: string; size: number; parentId: string } }>(
      t.url, 'mutation($t: String!) { saveShare(token: $t) { id name size parentId } }', { t: token }, fresh.token);
    expect(saved.errors, JSON.stringify(saved.errors)).toBeUndefined();
    expect(saved.data?.saveShare).toMatchObject({ name: 'welcome.txt', size: bytes.length, parentId: fresh.userId });
    const after = await gql<{ me: { quota: { used: number } }; folder: { children: { edges: { node: { id: string } }[] } } }>(
      t.url, '{ me { quota { used } } folder { children { edges { node { id } } } } }', {}, fresh.token);
    expect(after.data?.me.quota.used).toBe(bytes.length);
    expect(after.data?.folder.children.edges.map((e) => e.node.id)).toEqual([saved.data!.saveShare.id]);
    expect(errorCode(after)).toBeUndefined();
  });
});
