/**
 * A brand-new account's very first action (issue 16, item 2): the person's drive rows (root folder,
 * quota) exist from registration, so nothing a fresh account does first fails for their lack.
 *
 * The sweep enumerates every Query and Mutation field of schema.graphql with graphql-js: a field
 * without a row in CASES fails, so a new field is covered (or noticed) automatically. Each row runs
 * its operation as the very first action of an account just signed up through GraphQL, and says
 * what the answer must be: success, or the documented error codes listed. INTERNAL is never
 * expected; nothing is ever QUOTA_EXCEEDED or NOT_FOUND for the person's own root. Afterwards the
 * account's quota and root still answer. It runs on the real stack (MariaDB, Redis, Ceph RGW) and
 * on the embedded default (SQLite, local disk, in-memory KV and queue).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { buildSchema } from 'graphql';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTypeDefs } from '../../api/graphql/schema.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { errorCode, gql, type GraphQLResponse } from '../support/graphql.ts';

const PASSWORD = 'a-good-password-1'; // what TestApp.signUp registers with
const SHARE_PASSWORD = 'pw-1234';

/** Another person's things, made before the fresh accounts exist. */
interface World {
  owner: { token: string; userId: string };
  fileId: string;
  trashedId: string;
  shareId: string;
  shareToken: string;
  passwordShareToken: string;
  sessionId: string;
  /** The owner's personal access token (its id). */
  accessTokenId: string;
  /** The owner's file-drop link into their root (its id and token). */
  uploadLinkId: string;
  uploadLinkToken: string;
}
interface Fresh {
  token: string;
  userId: string;
  refreshToken: string;
  username: string;
}
type Run = (t: TestApp, w: World, me: Fresh) => Promise<GraphQLResponse>;
interface Case {
  /** 'ok', or the documented codes the answer may carry. */
  expect: 'ok' | string[];
  run: Run;
}

const q = (query: string, vars: Record<string, unknown> = {}): Run => (t, _w, me) => gql(t.url, query, vars, me.token);
const qw = (query: string, vars: (w: World, me: Fresh) => Record<string, unknown>, anonymous = false): Run =>
  (t, w, me) => gql(t.url, query, vars(w, me), anonymous ? undefined : me.token);

// field                 expected                  operation (arguments: own root, another person's things)
const CASES: Record<string, Case> = {
  'Query.me':              { expect: 'ok',              run: q('{ me { id quota { used limit } } }') },
  'Query.folder':          { expect: 'ok',              run: qw('query($id: ID) { folder(id: $id) { id parentId thumbnailUrl children { totalCount edges { node { thumbnailUrl(size: SMALL) } } } } }', (_w, me) => ({ id: me.userId })) },
  'Query.file':            { expect: 'ok',              run: qw('query($id: ID!) { file(id: $id) { id isFolder ancestors { id } } }', (_w, me) => ({ id: me.userId })) },
  'Query.search':          { expect: 'ok',              run: q('{ search(query: "report") { totalCount pageInfo { hasNextPage } edges { node { id } } } }') },
  'Query.trash':           { expect: 'ok',              run: q('{ trash { id } }') },
  // The root is a folder: no content to sign a URL for.
  'Query.downloadUrl':     { expect: ['BAD_INPUT'],     run: qw('query($id: ID!) { downloadUrl(id: $id) { url } }', (_w, me) => ({ id: me.userId })) },
  'Query.uploads':         { expect: 'ok',              run: q('{ uploads { id } }') },
  // Another person's session: NOT_FOUND, never FORBIDDEN.
  'Query.upload':          { expect: ['NOT_FOUND'],     run: qw('query($id: ID!) { upload(id: $id) { id } }', (w) => ({ id: w.sessionId })) },
  'Query.shares':          { expect: 'ok',              run: q('{ shares { id } }') },
  'Query.share':           { expect: 'ok',              run: qw('query($t: String!) { share(token: $t) { root { id name } } }', (w) => ({ t: w.shareToken })) },
  'Query.storageBackends': { expect: ['FORBIDDEN'],     run: q('{ storageBackends { name } }') },
  'Query.transfers':       { expect: ['FORBIDDEN'],     run: q('{ transfers { counts { queued } } }') },

  'Mutation.requestEmailCode': { expect: 'ok',          run: qw('mutation($e: String!) { requestEmailCode(email: $e) }', (_w, me) => ({ e: `${me.username}.other@example.com` }), true) },
  // Registering is how each fresh account came to be; this row registers one more person.
  'Mutation.register':     { expect: 'ok',              run: async (t) => ({ status: 200, data: { register: await t.signUp() } }) },
  'Mutation.login':        { expect: 'ok',              run: qw('mutation($u: String!, $p: String!) { login(username: $u, password: $p) { user { id } } }', (_w, me) => ({ u: me.username, p: PASSWORD }), true) },
  'Mutation.refreshToken': { expect: 'ok',              run: qw('mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }', (_w, me) => ({ r: me.refreshToken }), true) },
  'Mutation.logout':       { expect: 'ok',              run: qw('mutation($r: String!) { logout(refreshToken: $r) }', (_w, me) => ({ r: me.refreshToken })) },
  'Mutation.logoutAll':    { expect: 'ok',              run: q('mutation { logoutAll }') },
  'Mutation.changePassword': { expect: 'ok',            run: qw('mutation($o: String!) { changePassword(oldPassword: $o, newPassword: "another-good-pass-2") }', () => ({ o: PASSWORD })) },
  // Always true, for any address (no hint whether it has an account).
  'Mutation.requestPasswordReset': { expect: 'ok',      run: qw('mutation($e: String!) { requestPasswordReset(email: $e) }', (_w, me) => ({ e: `${me.username}@example.com` }), true) },
  // No code was sent: code_invalid.
  'Mutation.resetPassword': { expect: ['BAD_INPUT'],    run: qw('mutation($e: String!) { resetPassword(email: $e, code: "123456", newPassword: "another-good-pass-2") }', (_w, me) => ({ e: `${me.username}@example.com` }), true) },
  // Over HTTP there is no connection to refresh (not_a_websocket).
  'Mutation.refreshConnection': { expect: ['BAD_INPUT'], run: qw('mutation($a: String!) { refreshConnection(accessToken: $a) }', (_w, me) => ({ a: me.token })) },
  'Mutation.createFolder': { expect: 'ok',              run: qw('mutation($p: ID) { createFolder(parentId: $p, name: "First") { id parentId } }', (_w, me) => ({ p: me.userId })) },
  // The root cannot be renamed, moved or deleted (details.reason "root").
  'Mutation.renameFile':   { expect: ['BAD_INPUT'],     run: qw('mutation($id: ID!) { renameFile(id: $id, name: "x") { id } }', (_w, me) => ({ id: me.userId })) },
  'Mutation.moveFile':     { expect: ['BAD_INPUT'],     run: qw('mutation($id: ID!) { moveFile(id: $id, parentId: null) { id } }', (_w, me) => ({ id: me.userId })) },
  'Mutation.deleteFile':   { expect: ['BAD_INPUT'],     run: qw('mutation($id: ID!) { deleteFile(id: $id) { id } }', (_w, me) => ({ id: me.userId })) },
  // A fresh account's trash is empty: another person's trashed item is NOT_FOUND.
  'Mutation.restoreFile':  { expect: ['NOT_FOUND'],     run: qw('mutation($id: ID!) { restoreFile(id: $id) { id } }', (w) => ({ id: w.trashedId })) },
  'Mutation.purgeFile':    { expect: ['NOT_FOUND'],     run: qw('mutation($id: ID!) { purgeFile(id: $id) }', (w) => ({ id: w.trashedId })) },
  // A fresh account has no version: the root is a folder (none), and a random version id is NOT_FOUND.
  'Mutation.restoreVersion': { expect: ['NOT_FOUND'], run: qw('mutation($f: ID!, $v: ID!) { restoreVersion(fileId: $f, versionId: $v) { id } }', (_w, me) => ({ f: me.userId, v: randomUUID() })) },
  'Mutation.deleteVersion': { expect: ['NOT_FOUND'],  run: qw('mutation($f: ID!, $v: ID!) { deleteVersion(fileId: $f, versionId: $v) }', (_w, me) => ({ f: me.userId, v: randomUUID() })) },
  // A signed link to the own root: a folder has no content (BAD_INPUT, documented).
  'Mutation.createDownloadLink': { expect: ['BAD_INPUT'], run: qw('mutation($id: ID!) { createDownloadLink(id: $id) { url } }', (_w, me) => ({ id: me.userId })) },
  'Mutation.uploadFile':   { expect: 'ok',              run: async (t, _w, me) => uploadSmall(t.url, me.token, 'first.txt', 'first bytes', me.userId) as Promise<GraphQLResponse> },
  'Mutation.uploadFiles':  { expect: 'ok',              run: (t, _w, me) => uploadFirstFiles(t.url, me.token, me.userId) },
  'Mutation.createUpload': { expect: 'ok',              run: qw('mutation($i: CreateUploadInput!) { createUpload(input: $i) { id status } }', (_w, me) => ({ i: { parentId: me.userId, name: 'big.bin', size: 1000 } })) },
  // A fresh account has no session yet: another person's fresh one is NOT_FOUND.
  'Mutation.uploadChunk':  { expect: ['NOT_FOUND'],     run: (t, w, me) => uploadChunk(t.url, me.token, w.sessionId) },
  'Mutation.pauseUpload':  { expect: ['NOT_FOUND'],     run: qw('mutation($s: ID!) { pauseUpload(sessionId: $s) { id } }', (w) => ({ s: w.sessionId })) },
  'Mutation.resumeUpload': { expect: ['NOT_FOUND'],     run: qw('mutation($s: ID!) { resumeUpload(sessionId: $s) { id } }', (w) => ({ s: w.sessionId })) },
  'Mutation.cancelUpload': { expect: ['NOT_FOUND'],     run: qw('mutation($s: ID!) { cancelUpload(sessionId: $s) }', (w) => ({ s: w.sessionId })) },
  'Mutation.completeUpload': { expect: ['NOT_FOUND'],   run: qw('mutation($s: ID!) { completeUpload(sessionId: $s) { id } }', (w) => ({ s: w.sessionId })) },
  'Mutation.proveOwnership': { expect: ['NOT_FOUND'],   run: qw('mutation($s: ID!) { proveOwnership(sessionId: $s, proofs: ["00"]) { id } }', (w) => ({ s: w.sessionId })) },
  // The root cannot be shared (details.reason "root").
  'Mutation.createShare':  { expect: ['BAD_INPUT'],     run: qw('mutation($f: ID!) { createShare(input: { fileId: $f }) { id } }', (_w, me) => ({ f: me.userId })) },
  'Mutation.updateShare':  { expect: ['NOT_FOUND'],     run: qw('mutation($id: ID!) { updateShare(id: $id, input: { maxDownloads: 1 }) { id } }', (w) => ({ id: w.shareId })) },
  'Mutation.revokeShare':  { expect: ['NOT_FOUND'],     run: qw('mutation($id: ID!) { revokeShare(id: $id) }', (w) => ({ id: w.shareId })) },
  'Mutation.unlockShare':  { expect: 'ok',              run: qw('mutation($t: String!, $p: String!) { unlockShare(token: $t, password: $p) }', (w) => ({ t: w.passwordShareToken, p: SHARE_PASSWORD })) },
  'Mutation.saveShare':    { expect: 'ok',              run: qw('mutation($t: String!, $f: ID) { saveShare(token: $t, targetFolderId: $f) { id parentId } }', (w, me) => ({ t: w.shareToken, f: me.userId })) },
  'Mutation.retryTransfer': { expect: ['FORBIDDEN'],    run: q('mutation { retryTransfer(id: "00000000-0000-0000-0000-000000000000") }') },
  'Query.accessTokens':    { expect: 'ok',              run: q('{ accessTokens { id name scopes lastUsedAt } }') },
  'Mutation.createAccessToken': { expect: 'ok',         run: q('mutation { createAccessToken(input: { name: "first script", scopes: [READ] }) { token accessToken { id scopes } } }') },
  // Another person's token: NOT_FOUND, never FORBIDDEN.
  'Mutation.revokeAccessToken': { expect: ['NOT_FOUND'], run: qw('mutation($id: ID!) { revokeAccessToken(id: $id) }', (w) => ({ id: w.accessTokenId })) },
  'Query.uploadLinks':     { expect: 'ok',              run: q('{ uploadLinks { id token url filesReceived arrivals { fileId } } }') },
  // Public: what a drop page shows of another person's live link.
  'Query.uploadLinkInfo':  { expect: 'ok',              run: qw('query($t: String!) { uploadLinkInfo(token: $t) { hasPassword filesLeft bytesLeft } }', (w) => ({ t: w.uploadLinkToken })) },
  'Mutation.createUploadLink': { expect: 'ok',          run: qw('mutation($f: ID!) { createUploadLink(input: { folderId: $f, maxFiles: 3 }) { id token url } }', (_w, me) => ({ f: me.userId })) },
  // Another person's link: NOT_FOUND, never FORBIDDEN.
  'Mutation.updateUploadLink': { expect: ['NOT_FOUND'], run: qw('mutation($id: ID!) { updateUploadLink(id: $id, input: { maxFiles: 1 }) { id } }', (w) => ({ id: w.uploadLinkId })) },
  'Mutation.revokeUploadLink': { expect: ['NOT_FOUND'], run: qw('mutation($id: ID!) { revokeUploadLink(id: $id) }', (w) => ({ id: w.uploadLinkId })) },
  // A link without a password cannot be unlocked: the wrong-password answer.
  'Mutation.unlockUploadLink': { expect: ['UNAUTHENTICATED'], run: qw('mutation($t: String!) { unlockUploadLink(token: $t, password: "pw-1234") { token } }', (w) => ({ t: w.uploadLinkToken })) },
  // A new account's log already holds its sign-up (SIGNED_IN).
  'Query.activity':        { expect: 'ok',              run: q('{ activity { edges { node { action at file { id name } ip } } pageInfo { hasNextPage } } }') },
  'Query.auditLog':        { expect: ['FORBIDDEN'],     run: q('{ auditLog { edges { node { id } } } }') },
};

/** Every Query and Mutation field of the contract, as "Query.me", "Mutation.saveShare", ... */
function contractFields(): string[] {
  const schema = buildSchema(loadTypeDefs());
  return [schema.getQueryType(), schema.getMutationType()].flatMap((type) =>
    type ? Object.keys(type.getFields()).map((field) => `${type.name}.${field}`) : [],
  );
}

/** uploadChunk by GraphQL multipart (https://github.com/jaydenseric/graphql-multipart-request-spec). */
/** Two files by uploadFiles into the own root; a file's refusal counts as the answer's error (its code). */
async function uploadFirstFiles(url: string, token: string, parentId: string): Promise<GraphQLResponse> {
  const form = new FormData();
  const query = 'mutation($p: ID, $fs: [UploadFileInput!]!) { uploadFiles(parentId: $p, files: $fs) { name file { id } error { code message } } }';
  form.append('operations', JSON.stringify({ query, variables: { p: parentId, fs: [{ file: null, size: 5 }, { file: null, size: 6 }] } }));
  form.append('map', JSON.stringify({ 0: ['variables.fs.0.file'], 1: ['variables.fs.1.file'] }));
  form.append('0', new Blob(['first']), 'first-of-two.txt');
  form.append('1', new Blob(['second']), 'second-of-two.txt');
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, body: form });
  const body = (await res.json()) as Omit<GraphQLResponse, 'status'> & { data?: { uploadFiles?: { error: { code: string; message: string } | null }[] } | null };
  const refused = (body.data?.uploadFiles ?? []).flatMap((r) => (r.error ? [{ message: r.error.message, extensions: { code: r.error.code } }] : []));
  return { status: res.status, ...body, ...(refused.length > 0 ? { errors: refused } : {}) } as GraphQLResponse;
}

async function uploadChunk(url: string, token: string, sessionId: string): Promise<GraphQLResponse> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: 'mutation($s: ID!, $c: Upload!) { uploadChunk(sessionId: $s, index: 0, chunk: $c) { id } }', variables: { s: sessionId, c: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.c'] }));
  form.append('0', new Blob([Buffer.alloc(1000)]), 'chunk');
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, body: form });
  return { status: res.status, ...((await res.json()) as Omit<GraphQLResponse, 'status'>) };
}

async function must<T>(pending: Promise<GraphQLResponse<T>>): Promise<T> {
  const response = await pending;
  if (!response.data) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

async function makeWorld(t: TestApp): Promise<World> {
  const owner = await t.signUp();
  const up = await uploadSmall(t.url, owner.token, 'welcome.txt', 'shared bytes for a fresh account');
  const fileId = up.data!.uploadFile.id;
  const share = (input: Record<string, unknown>) =>
    must(gql<{ createShare: { id: string; token: string } }>(t.url, 'mutation($i: CreateShareInput!) { createShare(input: $i) { id token } }', { i: input }, owner.token));
  const open = (await share({ fileId })).createShare;
  const locked = (await share({ fileId, password: SHARE_PASSWORD })).createShare;
  const folder = await must(gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "old") { id } }', {}, owner.token));
  await must(gql(t.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: folder.createFolder.id }, owner.token));
  const session = await must(gql<{ createUpload: { id: string } }>(t.url, 'mutation { createUpload(input: { name: "pending.bin", size: 1000 }) { id } }', {}, owner.token));
  const pat = await must(gql<{ createAccessToken: { accessToken: { id: string } } }>(t.url, 'mutation { createAccessToken(input: { name: "owner", scopes: [WRITE] }) { accessToken { id } } }', {}, owner.token));
  const link = await must(gql<{ createUploadLink: { id: string; token: string } }>(t.url, 'mutation($f: ID!) { createUploadLink(input: { folderId: $f }) { id token } }', { f: owner.userId }, owner.token));
  return {
    owner, fileId, trashedId: folder.createFolder.id, shareId: open.id, shareToken: open.token, passwordShareToken: locked.token, sessionId: session.createUpload.id,
    accessTokenId: pat.createAccessToken.accessToken.id, uploadLinkId: link.createUploadLink.id, uploadLinkToken: link.createUploadLink.token,
  };
}

const STACKS = {
  real: () => startTestApp(),
  embedded: () =>
    startTestApp({
      env: { DATABASE_URL: '', REDIS_URL: '' },
      routing: (dataDir) => ({ default: 'disk', backends: [{ name: 'disk', type: 'local', path: path.join(dataDir, 'objects'), state: 'active' }] }),
    }),
};

describe.each(Object.keys(STACKS) as (keyof typeof STACKS)[])('a fresh account on the %s stack', (stack) => {
  let t: TestApp;
  let world: World;
  beforeAll(async () => {
    t = await STACKS[stack]();
    world = await makeWorld(t);
  });
  afterAll(() => t?.close());

  const signUpFresh = async (): Promise<Fresh> => {
    const username = `f${randomBytes(5).toString('hex')}`;
    return { ...(await t.signUp(username)), username };
  };

  it("saves someone else's share as its very first action: the copy appears and the quota is charged", async () => {
    const fresh = await signUpFresh();
    const saved = await gql<{ saveShare: { id: string; name: string; size: number; parentId: string } }>(
      t.url, 'mutation($t: String!) { saveShare(token: $t) { id name size parentId } }', { t: world.shareToken }, fresh.token);
    expect(saved.errors, JSON.stringify(saved.errors)).toBeUndefined();
    const size = Buffer.byteLength('shared bytes for a fresh account');
    expect(saved.data?.saveShare).toMatchObject({ name: 'welcome.txt', size, parentId: fresh.userId });
    const after = await must(gql<{ me: { quota: { used: number } }; folder: { children: { edges: { node: { id: string } }[] } } }>(
      t.url, '{ me { quota { used } } folder { children { edges { node { id } } } } }', {}, fresh.token));
    expect(after.me.quota.used).toBe(size);
    expect(after.folder.children.edges.map((e) => e.node.id)).toEqual([saved.data!.saveShare.id]);
  });

  it('has a case for every Query and Mutation field of schema.graphql, and none for a field it lacks', () => {
    const fields = contractFields();
    expect(fields.filter((f) => !(f in CASES)), 'fields without a case').toEqual([]);
    expect(Object.keys(CASES).filter((c) => !fields.includes(c)), 'cases without a field').toEqual([]);
  });

  // Concurrently (a few at a time): fresh accounts registering and acting side by side.
  it.concurrent.for(contractFields())('%s as the very first action answers as documented', async (field, { expect }) => {
    const c = CASES[field];
    if (!c) throw new Error(`${field} has no case in CASES: add its expectation for a fresh account`);
    const me = await signUpFresh();
    const answer = await c.run(t, world, me);
    const code = errorCode(answer);
    if (c.expect === 'ok') expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
    else expect(c.expect, JSON.stringify(answer.errors)).toContain(code);
    expect(code).not.toBe('INTERNAL');
    // Whatever it did, the account's own drive answers: root, quota at the configured default.
    const check = (token: string) => gql<{ me: { quota: { limit: number } }; folder: { id: string } }>(
      t.url, 'query($id: ID) { me { quota { limit } } folder(id: $id) { id } }', { id: me.userId }, token);
    let after = await check(me.token);
    if (errorCode(after) === 'UNAUTHENTICATED') after = await check((await login(t, me)).token); // logout ended the session
    expect(after.errors, JSON.stringify(after.errors)).toBeUndefined();
    expect(after.data).toMatchObject({ me: { quota: { limit: 10 * 1024 ** 3 } }, folder: { id: me.userId } });
  });

  it("runs a fresh upload session to completion as its first steps: the file is made and charged", async () => {
    const me = await signUpFresh();
    const bytes = randomBytes(1000);
    const contentHash = createHash('sha256').update(createHash('sha256').update(bytes).digest()).digest('hex');
    const created = await must(gql<{ createUpload: { id: string } }>(t.url, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }',
      { i: { parentId: null, name: 'mine.bin', size: bytes.length, contentHash } }, me.token));
    const put = await fetch(`${t.url}/upload/${created.createUpload.id}/0`, { method: 'PUT', headers: { authorization: `Bearer ${me.token}` }, body: bytes });
    expect(put.status).toBeLessThan(300);
    const done = await must(gql<{ completeUpload: { status: string; file: { parentId: string } } }>(
      t.url, 'mutation($s: ID!) { completeUpload(sessionId: $s) { status file { parentId } } }', { s: created.createUpload.id }, me.token));
    expect(done.completeUpload).toMatchObject({ status: 'COMPLETED', file: { parentId: me.userId } });
    expect((await must(gql<{ me: { quota: { used: number } } }>(t.url, '{ me { quota { used } } }', {}, me.token))).me.quota.used).toBe(bytes.length);
  });
});

/** A new access token: the logout and refreshToken rows end the first one's family. */
async function login(t: TestApp, me: Fresh): Promise<{ token: string }> {
  const res = await must(gql<{ login: { accessToken: string } }>(t.url, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }', { u: me.username, p: PASSWORD }));
  return { token: res.login.accessToken };
}
