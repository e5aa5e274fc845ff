/**
 * The activity log through GraphQL on the real stack (MariaDB, Redis, Ceph RGW) and the embedded
 * default (SQLite, local disk): a new account's log shows its sign-up, file operations appear with
 * their live file (null once trashed), another person's file id is NOT_FOUND, `first` is bounded,
 * auditLog answers administrators only, and a password change and a token revocation show there and
 * in the person's log with their detail. The events themselves are tested per service in
 * internal/activity/activity.test.ts.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { errorCode, gql } from '../support/graphql.ts';
import { OCTETS, TUS, metadata, tusRequest } from '../tus/tus-protocol-harness.ts';

const STACKS = {
  real: () => startTestApp(),
  embedded: () =>
    startTestApp({
      env: { DATABASE_URL: '', REDIS_URL: '' },
      routing: (dataDir) => ({ default: 'disk', backends: [{ name: 'disk', type: 'local', path: path.join(dataDir, 'objects'), state: 'active' }] }),
    }),
};

interface EventNode {
  action: string;
  file: { id: string; name: string } | null;
  fileName: string | null;
  actorName: string | null;
  ip: string | null;
  userAgent: string | null;
  shareId: string | null;
}
const ACTIVITY = `query($first: Int, $after: String, $fileId: ID) {
  activity(first: $first, after: $after, fileId: $fileId) { edges { cursor node { id at action file { id name } fileName shareId actorName ip userAgent } } pageInfo { hasNextPage endCursor } }
}`;

describe.each(Object.keys(STACKS) as (keyof typeof STACKS)[])('activity over GraphQL on the %s stack', (stack) => {
  let t: TestApp;
  let admin: { token: string };

  beforeAll(async () => {
    t = await STACKS[stack]();
    admin = await t.signUp(); // the first person is the administrator
  });
  afterAll(() => t?.close());

  const activity = async (token: string, vars: Record<string, unknown> = {}) => {
    const res = await gql<{ activity: { edges: { node: EventNode }[] } }>(t.url, ACTIVITY, vars, token);
    if (!res.data) throw new Error(JSON.stringify(res.errors));
    return res.data.activity.edges.map((e) => e.node);
  };

  it("shows a new account's sign-up first, then its file operations with the live file", async () => {
    const me = await t.signUp();
    expect((await activity(me.token)).map((e) => e.action)).toEqual(['SIGNED_IN']);
    const id = (await uploadSmall(t.url, me.token, 'plan.txt', 'plan')).data!.uploadFile.id;
    await gql(t.url, 'mutation($id: ID!) { renameFile(id: $id, name: "plan-v2.txt") { id } }', { id }, me.token);
    const events = await activity(me.token);
    expect(events.map((e) => e.action)).toEqual(['RENAMED', 'UPLOADED', 'SIGNED_IN']);
    // The file as it is now; the name as it was then. The test client connects over loopback.
    expect(events[1]).toMatchObject({ file: { id, name: 'plan-v2.txt' }, fileName: 'plan.txt', ip: expect.stringMatching(/^(127\.0\.0\.0|0:0:0::)$/) });
    await gql(t.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id }, me.token);
    const forFile = await activity(me.token, { fileId: id });
    expect(forFile.map((e) => [e.action, e.file])).toEqual([['TRASHED', null], ['RENAMED', null], ['UPLOADED', null]]);
  });

  it("answers NOT_FOUND for another person's file and BAD_INPUT for first beyond 200 or a bad cursor", async () => {
    const owner = await t.signUp();
    const other = await t.signUp();
    const id = (await uploadSmall(t.url, owner.token, 'mine.txt', 'mine')).data!.uploadFile.id;
    expect(errorCode(await gql(t.url, ACTIVITY, { fileId: id }, other.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(t.url, ACTIVITY, { first: 201 }, other.token))).toBe('BAD_INPUT');
    expect(errorCode(await gql(t.url, ACTIVITY, { after: 'garbage' }, other.token))).toBe('BAD_INPUT');
    expect(errorCode(await gql(t.url, ACTIVITY, {}))).toBe('UNAUTHENTICATED');
  });

  it('records a file-drop arrival as DROP_RECEIVED and a share visit and download, by network, without a name', async () => {
    const name = `drop${Date.now().toString(36)}`;
    const me = await t.signUp(name);
    const link = (await gql<{ createUploadLink: { id: string; token: string } }>(t.url, 'mutation($f: ID!) { createUploadLink(input: { folderId: $f }) { id token } }', { f: me.userId }, me.token)).data!.createUploadLink;
    const dropUrl = `${t.url}/drop/${link.token}/tus/`;
    const bytes = Buffer.from('dropped bytes');
    const created = await tusRequest(dropUrl, 'POST', { ...TUS, 'upload-length': String(bytes.length), 'upload-metadata': metadata({ filename: 'inbox.txt' }) });
    expect(created.status, created.text).toBe(201);
    const done = await tusRequest(new URL(created.headers.get('location') ?? '', dropUrl).toString(), 'PATCH', { ...TUS, ...OCTETS, 'upload-offset': '0' }, bytes);
    expect(done.status, done.text).toBe(204);
    const [dropped] = await activity(me.token);
    expect(dropped).toMatchObject({ action: 'DROP_RECEIVED', fileName: 'inbox.txt', actorName: null, shareId: link.id });

    const share = (await gql<{ createShare: { id: string; token: string } }>(t.url, 'mutation($f: ID!) { createShare(input: { fileId: $f }) { id token } }', { f: dropped!.file!.id }, me.token)).data!.createShare;
    await gql(t.url, 'query($t: String!) { share(token: $t) { root { id } } }', { t: share.token });
    const download = await fetch(`${t.url}/s/${share.token}`, { headers: { 'user-agent': 'curl/8.0' } });
    expect(await download.text()).toBe('dropped bytes');
    const [downloaded, opened, shared] = await activity(me.token);
    expect(shared).toMatchObject({ action: 'SHARE_CREATED', shareId: share.id, actorName: name });
    expect(opened).toMatchObject({ action: 'SHARE_OPENED', shareId: share.id, actorName: null, file: { name: 'inbox.txt' } });
    expect(downloaded).toMatchObject({ action: 'SHARE_DOWNLOADED', shareId: share.id, actorName: null, userAgent: 'curl/8.0' });
  });

  it('gives the audit log to administrators only', async () => {
    const someone = await t.signUp();
    const query = '{ auditLog(first: 200) { edges { node { action actorName } } } }';
    expect(errorCode(await gql(t.url, query, {}, someone.token))).toBe('FORBIDDEN');
    const res = await gql<{ auditLog: { edges: { node: { action: string } }[] } }>(t.url, query, {}, admin.token);
    const actions = new Set(res.data!.auditLog.edges.map((e) => e.node.action));
    const security = ['SIGNED_IN', 'SIGN_IN_FAILED', 'TOKEN_CREATED', 'PASSWORD_CHANGED', 'TOKEN_REVOKED', 'ADMIN_ACTION'];
    expect([...actions].every((a) => security.includes(a))).toBe(true);
    expect(actions.has('SIGNED_IN')).toBe(true);
  });

  it("shows a password change and a revoked token with their detail in the person's log and the audit log", async () => {
    const name = `pw${Date.now().toString(36)}`;
    const me = await t.signUp(name);
    const change = 'mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }';
    expect(errorCode(await gql(t.url, change, { o: 'not-my-password-1', n: 'a-better-password-2' }, me.token))).toBe('UNAUTHENTICATED');
    expect((await gql(t.url, change, { o: 'a-good-password-1', n: 'a-better-password-2' }, me.token)).data).toEqual({ changePassword: true });
    const made = await gql<{ createAccessToken: { accessToken: { id: string } } }>(t.url, 'mutation { createAccessToken(input: { name: "cli", scopes: [READ] }) { accessToken { id } } }', {}, me.token);
    const tokenId = made.data!.createAccessToken.accessToken.id;
    expect((await gql(t.url, 'mutation($id: ID!) { revokeAccessToken(id: $id) }', { id: tokenId }, me.token)).data).toEqual({ revokeAccessToken: true });
    const expected = [
      { action: 'TOKEN_REVOKED', detail: `access_token ${tokenId}`, actorName: name },
      { action: 'TOKEN_CREATED', detail: null, actorName: name },
      { action: 'PASSWORD_CHANGED', detail: 'changed', actorName: name },
      { action: 'SIGNED_IN', detail: null, actorName: name },
    ];
    const own = await gql<{ activity: { edges: { node: { action: string; detail: string | null; actorName: string } }[] } }>(t.url, '{ activity(first: 10) { edges { node { action detail actorName } } } }', {}, me.token);
    expect(own.data!.activity.edges.map((e) => e.node)).toEqual(expected);
    const audit = await gql<{ auditLog: { edges: { node: { action: string; detail: string | null; actorName: string } }[] } }>(t.url, '{ auditLog(first: 200) { edges { node { action detail actorName } } } }', {}, admin.token);
    expect(audit.data!.auditLog.edges.map((e) => e.node).filter((e) => e.actorName === name)).toEqual(expected);
  });
});
