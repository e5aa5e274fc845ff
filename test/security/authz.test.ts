/**
 * Authorization of every resolver and every byte endpoint, on the real stack. The list of
 * operations comes from the executable schema (`buildSchema()`): every root field of Query,
 * Mutation and Subscription must have an entry in SPECS below, so a new resolver without a test
 * here fails the suite. Each operation is called
 *   (a) as a stranger (no token),
 *   (b) as another person, with the ids of alice's files, folders, sessions and shares — and the
 *       answer must be exactly the answer to a random id (same code, same message, same details):
 *       no existence leak,
 *   (c) with bad tokens: expired, payload changed, signed with another key, `alg: none`, a share
 *       unlock token, a refresh token — all 401 UNAUTHENTICATED with no data.
 * Afterwards alice's things are checked to be untouched.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { getNamedType, getNullableType, isEnumType, isInputObjectType, isListType, isNonNullType, isObjectType, isScalarType, type GraphQLField, type GraphQLInputType, type GraphQLSchema } from 'graphql';
import { createClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildSchema } from '../../api/graphql/schema.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { redisEnv, testEnv } from '../support/env.ts';
import { gql, type GraphQLResponse } from '../support/graphql.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';

let t: TestApp;
const schema: GraphQLSchema = buildSchema();

interface Person {
  token: string;
  userId: string;
  refreshToken: string;
  username: string;
  email: string;
}

/** Alice's things: what bob must neither see nor touch. */
interface Ids {
  uploadLink: string;
  folder: string;
  file: string;
  trashed: string;
  session: string;
  share: string;
  shareToken: string;
  folderShareToken: string;
  outsideFile: string;
  bobFolder: string;
  bobFile: string;
  /** Alice's personal access token: its id, and a revoked one's secret. */
  accessToken: string;
  revokedPat: string;
  /** A version of alice's outsideFile (a WebDAV PUT over it kept the old content). */
  version: string;
}

let admin: Person;
let alice: Person;
let bob: Person;
let ids: Ids;
let unlockToken: string;

async function person(): Promise<Person> {
  const username = `u${randomBytes(5).toString('hex')}`;
  return { ...(await t.signUp(username)), username, email: `${username}@example.com` };
}

async function must<T>(res: Promise<GraphQLResponse<T>>): Promise<T> {
  const r = await res;
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data;
}

beforeAll(async () => {
  // A Redis database of this file's own: rate-limit counters of other files must not meet ours.
  t = await startTestApp({ env: { ...redisEnv(12) } });
  admin = await person(); // the first person is the administrator
  alice = await person();
  bob = await person();
  const folder = (await must(gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "alice-private") { id } }', {}, alice.token))).createFolder.id;
  const file = (await uploadSmall(t.url, alice.token, 'alice-secret.txt', 'alice secret bytes', folder)).data!.uploadFile.id;
  const outsideFile = (await uploadSmall(t.url, alice.token, 'alice-outside.txt', 'outside bytes')).data!.uploadFile.id;
  const trashed = (await uploadSmall(t.url, alice.token, 'alice-trashed.txt', 'trashed bytes')).data!.uploadFile.id;
  await must(gql(t.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: trashed }, alice.token));
  const session = (await must(gql<{ createUpload: { id: string } }>(
    t.url, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }',
    { i: { name: 'alice-upload.bin', size: 9 * 1024 * 1024, contentHash: 'ab'.repeat(32) } }, alice.token,
  ))).createUpload.id;
  const share = (await must(gql<{ createShare: { id: string; token: string } }>(t.url, 'mutation($f: ID!) { createShare(input: { fileId: $f, password: "alice-share-pw" }) { id token } }', { f: file }, alice.token))).createShare;
  const folderShare = (await must(gql<{ createShare: { token: string } }>(t.url, 'mutation($f: ID!) { createShare(input: { fileId: $f }) { token } }', { f: folder }, alice.token))).createShare;
  unlockToken = (await must(gql<{ unlockShare: string }>(t.url, 'mutation($t: String!) { unlockShare(token: $t, password: "alice-share-pw") }', { t: share.token }))).unlockShare;
  const bobFolder = (await must(gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "bob-folder") { id } }', {}, bob.token))).createFolder.id;
  const bobFile = (await uploadSmall(t.url, bob.token, 'bob.txt', 'bob bytes')).data!.uploadFile.id;
  const pat = (name: string) =>
    must(gql<{ createAccessToken: { token: string; accessToken: { id: string } } }>(t.url, 'mutation($n: String!) { createAccessToken(input: { name: $n, scopes: [WRITE] }) { token accessToken { id } } }', { n: name }, alice.token));
  const accessToken = (await pat('alice-laptop')).createAccessToken.accessToken.id;
  const revoked = (await pat('alice-revoked')).createAccessToken;
  await must(gql(t.url, 'mutation($id: ID!) { revokeAccessToken(id: $id) }', { id: revoked.accessToken.id }, alice.token));
  const uploadLink = (await must(gql<{ createUploadLink: { id: string } }>(t.url, 'mutation($f: ID!) { createUploadLink(input: { folderId: $f }) { id } }', { f: folder }, alice.token))).createUploadLink.id;
  expect((await fetch(`${t.url}/dav/alice-outside.txt`, { method: 'PUT', headers: { authorization: `Bearer ${alice.token}` }, body: 'outside bytes, second' })).status).toBe(204);
  const version = (await must(gql<{ file: { versions: { id: string }[] } }>(t.url, 'query($id: ID!) { file(id: $id) { versions { id } } }', { id: outsideFile }, alice.token))).file.versions[0]!.id;
  ids = { uploadLink, folder, file, trashed, session, share: share.id, shareToken: share.token, folderShareToken: folderShare.token, outsideFile, bobFolder, bobFile, accessToken, revokedPat: revoked.token, version };
}, 120_000);
afterAll(() => t?.close());

// ---------------------------------------------------------------- operations from the schema

type Root = 'Query' | 'Mutation' | 'Subscription';
type Kind =
  /** Needs a viewer and names one of the viewer's things by id: NOT_FOUND for anyone else's. */
  | 'owned'
  /** Needs a viewer; answers with the viewer's own things only. */
  | 'mine'
  /** Open to anyone by design; the spec says what must not leak. */
  | 'public'
  /** Administrators only. */
  | 'admin'
  /** Needs a viewer; acts on the viewer's own account or connection, takes no ids (logoutAll). */
  | 'self';

interface Spec {
  kind: Kind;
  /** Variables naming alice's things (owned) or the values to use (others). */
  vars?: (ids: Ids) => Record<string, unknown>;
  /** Variables that stay the same in the "random id" call (e.g. bob's own folder as a target). */
  fixed?: (ids: Ids) => Record<string, unknown>;
  /** GraphQL multipart: the variable that carries the file, or the path to it in a variable (files.0.file). */
  upload?: string;
}

const SPECS: Record<string, Spec> = {
  // Query
  me: { kind: 'mine' },
  folder: { kind: 'owned', vars: (i) => ({ id: i.folder }) },
  file: { kind: 'owned', vars: (i) => ({ id: i.file }) },
  // Searches the viewer's own drive only (search.e2e.test.ts: bob searching alice's names finds nothing).
  search: { kind: 'mine' },
  trash: { kind: 'mine' },
  downloadUrl: { kind: 'owned', vars: (i) => ({ id: i.file }) },
  uploads: { kind: 'mine' },
  upload: { kind: 'owned', vars: (i) => ({ id: i.session }) },
  shares: { kind: 'mine' },
  share: { kind: 'public' },
  storageBackends: { kind: 'admin' },
  transfers: { kind: 'admin' },
  // Mutation
  requestEmailCode: { kind: 'public' },
  register: { kind: 'public' },
  login: { kind: 'public' },
  refreshToken: { kind: 'public' },
  logout: { kind: 'public' },
  logoutAll: { kind: 'self' },
  changePassword: { kind: 'self' },
  requestPasswordReset: { kind: 'public' },
  resetPassword: { kind: 'public' },
  refreshConnection: { kind: 'self' },
  createFolder: { kind: 'owned', vars: (i) => ({ parentId: i.folder }) },
  renameFile: { kind: 'owned', vars: (i) => ({ id: i.file }) },
  moveFile: { kind: 'owned', vars: (i) => ({ id: i.file }), fixed: (i) => ({ parentId: i.bobFolder }) },
  deleteFile: { kind: 'owned', vars: (i) => ({ id: i.file }) },
  restoreFile: { kind: 'owned', vars: (i) => ({ id: i.trashed }) },
  purgeFile: { kind: 'owned', vars: (i) => ({ id: i.trashed }) },
  restoreVersion: { kind: 'owned', vars: (i) => ({ fileId: i.outsideFile, versionId: i.version }) },
  deleteVersion: { kind: 'owned', vars: (i) => ({ fileId: i.outsideFile, versionId: i.version }) },
  createDownloadLink: { kind: 'owned', vars: (i) => ({ id: i.file }) },
  uploadFile: { kind: 'owned', vars: (i) => ({ parentId: i.folder }), upload: 'file' },
  uploadFiles: { kind: 'owned', vars: (i) => ({ parentId: i.folder }), fixed: () => ({ files: [{ file: null, size: 5 }] }), upload: 'files.0.file' },
  createUpload: { kind: 'owned', vars: (i) => ({ input: { parentId: i.folder, name: 'x.bin', size: 10 } }) },
  uploadChunk: { kind: 'owned', vars: (i) => ({ sessionId: i.session }), fixed: () => ({ index: 0 }), upload: 'chunk' },
  pauseUpload: { kind: 'owned', vars: (i) => ({ sessionId: i.session }) },
  resumeUpload: { kind: 'owned', vars: (i) => ({ sessionId: i.session }) },
  cancelUpload: { kind: 'owned', vars: (i) => ({ sessionId: i.session }) },
  completeUpload: { kind: 'owned', vars: (i) => ({ sessionId: i.session }) },
  proveOwnership: { kind: 'owned', vars: (i) => ({ sessionId: i.session }), fixed: () => ({ proofs: ['00'.repeat(32)] }) },
  createShare: { kind: 'owned', vars: (i) => ({ input: { fileId: i.file } }) },
  updateShare: { kind: 'owned', vars: (i) => ({ id: i.share }), fixed: () => ({ input: { maxDownloads: 1 } }) },
  revokeShare: { kind: 'owned', vars: (i) => ({ id: i.share }) },
  unlockShare: { kind: 'public' },
  saveShare: { kind: 'owned', vars: (i) => ({ targetFolderId: i.folder }), fixed: (i) => ({ token: i.folderShareToken }) },
  retryTransfer: { kind: 'admin' },
  accessTokens: { kind: 'mine' },
  createAccessToken: { kind: 'self' },
  revokeAccessToken: { kind: 'owned', vars: (i) => ({ id: i.accessToken }) },
  uploadLinks: { kind: 'mine' },
  uploadLinkInfo: { kind: 'public' },
  createUploadLink: { kind: 'owned', vars: (i) => ({ input: { folderId: i.folder } }) },
  updateUploadLink: { kind: 'owned', vars: (i) => ({ id: i.uploadLink }), fixed: () => ({ input: { maxFiles: 1 } }) },
  revokeUploadLink: { kind: 'owned', vars: (i) => ({ id: i.uploadLink }) },
  unlockUploadLink: { kind: 'public' },
  // Another person's file id answers like a random one: NOT_FOUND (not an empty list).
  activity: { kind: 'owned', vars: (i) => ({ fileId: i.file }) },
  auditLog: { kind: 'admin' },
  // Subscription
  heartbeat: { kind: 'mine' },
  uploadProgress: { kind: 'owned', vars: (i) => ({ sessionId: i.session }) },
  uploadLinkActivity: { kind: 'owned', vars: (i) => ({ linkId: i.uploadLink }) },
  transferProgress: { kind: 'admin' },
};

interface Operation {
  root: Root;
  name: string;
  field: GraphQLField<unknown, unknown>;
  document: string;
}

/** A selection of the scalar fields of a type (and `__typename`), one level deep. */
function selection(field: GraphQLField<unknown, unknown>): string {
  const type = getNamedType(field.type);
  if (!isObjectType(type)) return '';
  const leaves = Object.values(type.getFields())
    .filter((f) => f.args.every((a) => !isNonNullType(a.type)) && (isScalarType(getNamedType(f.type)) || isEnumType(getNamedType(f.type))))
    .map((f) => f.name);
  return ` { __typename ${leaves.join(' ')} }`;
}

function operations(): Operation[] {
  const out: Operation[] = [];
  for (const root of ['Query', 'Mutation', 'Subscription'] as const) {
    const type = root === 'Query' ? schema.getQueryType() : root === 'Mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    for (const field of Object.values(type?.getFields() ?? {})) {
      const defs = field.args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
      const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
      const keyword = root === 'Query' ? 'query' : root === 'Mutation' ? 'mutation' : 'subscription';
      out.push({ root, name: field.name, field, document: `${keyword} Op${defs ? `(${defs})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection(field)} }` });
    }
  }
  return out;
}

/** A plausible value of an input type (required fields only). */
function sample(type: GraphQLInputType, name: string): unknown {
  const inner = getNullableType(type);
  if (isListType(inner)) return [sample(inner.ofType as GraphQLInputType, name)];
  if (isEnumType(inner)) return inner.getValues()[0]?.value;
  if (isInputObjectType(inner)) {
    return Object.fromEntries(Object.values(inner.getFields()).filter((f) => isNonNullType(f.type)).map((f) => [f.name, sample(f.type, f.name)]));
  }
  switch (inner.toString()) {
    case 'ID':
      return randomUUID();
    case 'Int':
      return 1;
    case 'Size':
      return 10;
    case 'Boolean':
      return true;
    case 'DateTime':
      return new Date(Date.now() + 86_400_000).toISOString();
    case 'Upload':
      return null;
    default:
      if (/email/i.test(name)) return `${randomBytes(4).toString('hex')}@example.com`;
      if (/password/i.test(name)) return 'a-wrong-password-1';
      if (/token/i.test(name)) return randomBytes(32).toString('base64url');
      return `n-${randomBytes(4).toString('hex')}.txt`;
  }
}

function variables(op: Operation, own: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const arg of op.field.args) if (isNonNullType(arg.type)) out[arg.name] = sample(arg.type, arg.name);
  return { ...out, ...own };
}

/** Replaces `random` ids in the input-shaped values with random UUIDs (same shape, unknown ids). */
function randomized(value: unknown): unknown {
  if (typeof value === 'string') return /^[0-9a-f-]{36}$/.test(value) ? randomUUID() : value;
  if (Array.isArray(value)) return value.map(randomized);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, randomized(v)]));
  return value;
}

async function call(op: Operation, vars: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse> {
  const spec = SPECS[op.name];
  if (op.root === 'Subscription') return subscribeOnce(op.document, vars, token);
  if (!spec?.upload) return gql(t.url, op.document, vars, token ?? undefined);
  const form = new FormData();
  // A path into a list of inputs (files.0.file) is null there already.
  form.append('operations', JSON.stringify({ query: op.document, variables: spec.upload.includes('.') ? vars : { ...vars, [spec.upload]: null } }));
  form.append('map', JSON.stringify({ 0: [`variables.${spec.upload}`] }));
  form.append('0', new Blob([Buffer.from('bytes')]), 'f.bin');
  const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'apollo-require-preflight': 'true', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: form });
  return { status: res.status, ...((await res.json()) as object) };
}

/** One subscription: the first result or the error; a refused connection is reported as UNAUTHENTICATED. */
async function subscribeOnce(query: string, vars: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse> {
  const closes: number[] = [];
  const client = createClient({
    url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: { closed: (event) => closes.push((event as { code: number }).code) },
  });
  try {
    return await new Promise<GraphQLResponse>((resolve) => {
      const timer = setTimeout(() => resolve({ status: 0, data: null, errors: [{ message: 'timeout', extensions: { code: 'TIMEOUT' } }] }), 5_000);
      client.subscribe({ query, variables: vars }, {
        next: (value) => {
          clearTimeout(timer);
          resolve({ status: 200, ...(value as object) } as GraphQLResponse);
        },
        error: (error: unknown) => {
          clearTimeout(timer);
          if (Array.isArray(error)) resolve({ status: 200, data: null, errors: error as GraphQLResponse['errors'] });
          else resolve({ status: closes[0] ?? 0, data: null, errors: [{ message: 'connection refused', extensions: { code: closes.includes(4403) ? 'UNAUTHENTICATED' : `CLOSED_${closes.join(',')}` } }] });
        },
        complete: () => undefined,
      });
    });
  } finally {
    await client.dispose();
  }
}

const code = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.code;
const noData = (r: GraphQLResponse, name: string) => expect(r.data?.[name as never] ?? null, `${name} returned data`).toBeNull();
const normalized = (r: GraphQLResponse, replace: string[]) => {
  let text = JSON.stringify({ errors: r.errors?.map((e) => ({ message: e.message, extensions: e.extensions })), data: r.data ?? null });
  for (const id of replace) text = text.split(id).join('<id>');
  return JSON.parse(text) as unknown;
};

// ---------------------------------------------------------------- tokens that must not work

async function badTokens(): Promise<Record<string, string>> {
  const secret = new TextEncoder().encode(TEST_JWT_SECRET);
  const now = Math.floor(Date.now() / 1000);
  const claims = { typ: 'access', usr: alice.username, adm: false };
  const expired = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer('stratus').setSubject(alice.userId).setIssuedAt(now - 7200).setExpirationTime(now - 3600).sign(secret);
  const otherKey = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer('stratus').setSubject(alice.userId).setIssuedAt(now).setExpirationTime(now + 600).sign(new TextEncoder().encode('another-secret-of-at-least-32-characters!!'));
  const [header, payload, signature] = bob.token.split('.') as [string, string, string];
  const changed = { ...(JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>), sub: alice.userId, adm: true };
  const forged = `${header}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`;
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...changed, iss: 'stratus', exp: now + 600 })).toString('base64url')}.`;
  // Personal access tokens: one revoked, one that never existed, one a letter short.
  const unknownPat = `stp_${randomBytes(32).toString('base64url')}`;
  return {
    expired, otherKey, forged, none, shareUnlockToken: unlockToken, refreshToken: alice.refreshToken, garbage: 'x.y.z',
    revokedPat: ids.revokedPat, unknownPat, truncatedPat: unknownPat.slice(0, -1),
  };
}

// ---------------------------------------------------------------- the suite

describe('every resolver', () => {
  const ops = operations();

  it('has a spec here for every root field of the schema (a new resolver needs a security test)', () => {
    expect(ops.map((o) => o.name).sort()).toEqual(Object.keys(SPECS).sort());
  });

  it('(a) strangers get UNAUTHENTICATED and no data from every operation that needs a viewer', async () => {
    for (const op of ops.filter((o) => SPECS[o.name]?.kind !== 'public')) {
      const spec = SPECS[op.name]!;
      const res = await call(op, variables(op, { ...spec.fixed?.(ids), ...spec.vars?.(ids) }), null);
      expect(code(res), `${op.name}: ${JSON.stringify(res.errors)}`).toBe('UNAUTHENTICATED');
      noData(res, op.name);
    }
  });

  it("(b) another person's ids answer exactly like random ids: NOT_FOUND, same message, no data", async () => {
    for (const op of ops.filter((o) => SPECS[o.name]?.kind === 'owned')) {
      const spec = SPECS[op.name]!;
      const theirs = spec.vars!(ids);
      const fixed = spec.fixed?.(ids) ?? {};
      const base = variables(op, fixed);
      const withTheirs = await call(op, { ...base, ...theirs }, bob.token);
      const withRandom = await call(op, { ...base, ...(randomized(theirs) as Record<string, unknown>) }, bob.token);
      expect(code(withTheirs), `${op.name}: ${JSON.stringify(withTheirs.errors)}`).toBe('NOT_FOUND');
      noData(withTheirs, op.name);
      const replace = [...Object.values(ids), ...JSON.stringify(withRandom).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? []];
      expect(normalized(withTheirs, replace), op.name).toEqual(normalized(withRandom, replace));
      expect(withTheirs.status, op.name).toBe(withRandom.status);
    }
  });

  it("(b) lists answer with the viewer's own things only", async () => {
    const secrets = [ids.folder, ids.file, ids.trashed, ids.session, ids.share, ids.shareToken, ids.folderShareToken, ids.accessToken, 'alice-', alice.userId, alice.email];
    for (const op of ops.filter((o) => SPECS[o.name]?.kind === 'mine')) {
      const res = await call(op, variables(op), bob.token);
      expect(res.errors, op.name).toBeUndefined();
      for (const s of secrets) expect(JSON.stringify(res), `${op.name} shows ${s}`).not.toContain(s);
    }
    const root = await gql(t.url, '{ folder { id children { edges { node { id name } } } } }', {}, bob.token);
    for (const s of secrets) expect(JSON.stringify(root)).not.toContain(s);
  });

  it('(b) administrators only: FORBIDDEN for a person who is not one, no data', async () => {
    for (const op of ops.filter((o) => SPECS[o.name]?.kind === 'admin')) {
      const res = await call(op, variables(op), bob.token);
      expect(code(res), `${op.name}: ${JSON.stringify(res.errors)}`).toBe('FORBIDDEN');
      noData(res, op.name);
    }
    expect(code(await gql(t.url, '{ storageBackends { name } }', {}, admin.token))).toBeUndefined();
  });

  it('(b) public operations leak nothing about who or what exists', async () => {
    const same = async (a: Promise<GraphQLResponse>, b: Promise<GraphQLResponse>, replace: string[] = []) => {
      const [x, y] = await Promise.all([a, b]);
      expect(normalized(x, replace)).toEqual(normalized(y, replace));
      return x;
    };
    // login: a known name with a wrong password is a wrong name.
    const login = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }';
    const bad = await same(gql(t.url, login, { u: alice.username, p: 'not-her-password-9' }), gql(t.url, login, { u: `nobody${randomBytes(3).toString('hex')}`, p: 'not-her-password-9' }));
    expect(code(bad)).toBe('UNAUTHENTICATED');
    await same(gql(t.url, login, { u: alice.email, p: 'not-her-password-9' }), gql(t.url, login, { u: `nobody${randomBytes(3).toString('hex')}@example.com`, p: 'not-her-password-9' }));
    // requestEmailCode: a registered address looks like any other (her sign-up code was sent
    // seconds ago: forget that, or the once-a-minute limit answers instead).
    await t.app.runtime.kv.del(`acct:code:${alice.email}:sent`);
    const request = 'mutation($e: String!) { requestEmailCode(email: $e) }';
    await same(gql(t.url, request, { e: alice.email }), gql(t.url, request, { e: `fresh${randomBytes(3).toString('hex')}@example.com` }));
    // requestPasswordReset: true for her address and for one nobody has.
    const reset = 'mutation($e: String!) { requestPasswordReset(email: $e) }';
    await same(gql(t.url, reset, { e: alice.email }), gql(t.url, reset, { e: `fresh${randomBytes(3).toString('hex')}@example.com` }));
    // share links: a password share says nothing without the password; a revoked, unknown or random token alike.
    const share = 'query($t: String!) { share(token: $t) { root { id name } } }';
    const locked = await gql(t.url, share, { t: ids.shareToken }, bob.token);
    expect(code(locked)).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(locked)).not.toContain('alice-secret');
    noData(locked, 'share');
    expect(code(await gql(t.url, share, { t: randomBytes(32).toString('base64url') }))).toBe('NOT_FOUND');
    const unlock = 'mutation($t: String!, $p: String!) { unlockShare(token: $t, password: $p) }';
    expect(code(await gql(t.url, unlock, { t: randomBytes(32).toString('base64url'), p: 'whatever' }))).toBe('NOT_FOUND');
    // refresh/logout with things that are not refresh tokens.
    for (const value of [alice.token, unlockToken, randomBytes(32).toString('base64url')]) {
      const r = await gql(t.url, 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', { t: value });
      expect(code(r)).toBe('UNAUTHENTICATED');
      noData(r, 'refreshToken');
    }
  });

  // register checks the code for the address before telling whether the address is taken, so
  // a stranger cannot ask which addresses have an account.
  it('(b) register does not tell a stranger which e-mail addresses have an account', async () => {
    const register = 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }';
    const input = (email: string) => ({ i: { username: `n${randomBytes(5).toString('hex')}`, email, password: 'a-fine-password-77', code: '000000' } });
    const [known, unknown] = await Promise.all([gql(t.url, register, input(alice.email)), gql(t.url, register, input(`fresh${randomBytes(3).toString('hex')}@example.com`))]);
    expect(code(unknown)).toBe('BAD_INPUT');
    expect(normalized(known, [])).toEqual(normalized(unknown, []));
  });

  it('(c) stolen, expired and forged tokens are refused with 401 on every operation, public ones included', async () => {
    const tokens = await badTokens();
    for (const [kind, token] of Object.entries(tokens)) {
      for (const op of ops) {
        const spec = SPECS[op.name]!;
        const res = await call(op, variables(op, { ...spec.fixed?.(ids), ...spec.vars?.(ids) }), token);
        expect(code(res), `${op.name} with ${kind} token: ${JSON.stringify(res.errors)}`).toBe('UNAUTHENTICATED');
        if (op.root !== 'Subscription') expect(res.status, `${op.name} with ${kind}`).toBe(401);
        noData(res, op.name);
      }
    }
  });

  it("leaves alice's things exactly as they were", async () => {
    const view = await must(gql<{ file: { name: string; parentId: string }; upload: { status: string }; shares: { id: string; maxDownloads: number | null }[]; trash: { id: string }[] }>(
      t.url, 'query($f: ID!, $s: ID!) { file(id: $f) { name parentId } upload(id: $s) { status } shares { id maxDownloads } trash { id } }', { f: ids.file, s: ids.session }, alice.token,
    ));
    expect(view.file).toEqual({ name: 'alice-secret.txt', parentId: ids.folder });
    expect(view.upload.status).toBe('PENDING');
    expect(view.shares.find((s) => s.id === ids.share)).toEqual({ id: ids.share, maxDownloads: null });
    expect(view.trash.map((f) => f.id)).toContain(ids.trashed);
    const children = await must(gql<{ folder: { children: { totalCount: number } } }>(t.url, 'query($id: ID) { folder(id: $id) { children { totalCount } } }', { id: ids.folder }, alice.token));
    expect(children.folder.children.totalCount).toBe(1);
  });
});

describe('every byte endpoint', () => {
  const http = (method: string, path: string, token?: string, body?: Buffer) =>
    fetch(`${t.url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(body ? { body } : {}) });
  const answer = async (res: Response) => ({ status: res.status, body: res.status === 204 ? '' : (await res.text()).split(/[0-9a-f-]{36}/).join('<id>') });

  it('PUT /upload/{sid}/{index} and GET|HEAD /files/{id}/content: 401 without or with a bad token; 404 for another person exactly as for a random id', async () => {
    const tokens = await badTokens();
    const endpoints = [
      { method: 'PUT', path: (id: string) => `/upload/${id}/0`, own: ids.session, body: Buffer.from('chunk') },
      { method: 'GET', path: (id: string) => `/files/${id}/content`, own: ids.file },
      { method: 'HEAD', path: (id: string) => `/files/${id}/content`, own: ids.file },
      { method: 'GET', path: (id: string) => `/files/${id}/versions/${ids.version}/content`, own: ids.outsideFile },
      { method: 'HEAD', path: (id: string) => `/files/${id}/versions/${ids.version}/content`, own: ids.outsideFile },
      { method: 'GET', path: (id: string) => `/files/${id}/thumbnail`, own: ids.file },
      { method: 'HEAD', path: (id: string) => `/files/${id}/thumbnail?size=LARGE`, own: ids.file },
    ];
    for (const e of endpoints) {
      const name = `${e.method} ${e.path(':id')}`;
      const stranger = await http(e.method, e.path(e.own), undefined, e.body);
      expect(stranger.status, name).toBe(401);
      if (e.method !== 'HEAD') expect((await stranger.json()) as unknown, name).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      for (const [kind, token] of Object.entries(tokens)) {
        const res = await http(e.method, e.path(e.own), token, e.body);
        expect(res.status, `${name} with ${kind}`).toBe(401);
        expect(await res.text()).not.toContain('alice');
      }
      const theirs = await answer(await http(e.method, e.path(e.own), bob.token, e.body));
      const random = await answer(await http(e.method, e.path(randomUUID()), bob.token, e.body));
      expect(theirs.status, name).toBe(404);
      expect(theirs, name).toEqual(random);
    }
  });

  it('GET|HEAD /s/{token}[/{fileId}]: a password share refuses other tokens; outside the shared folder is a random id', async () => {
    const tokens = { ...(await badTokens()), bobAccess: bob.token, aliceAccess: alice.token };
    for (const method of ['GET', 'HEAD']) {
      expect((await http(method, `/s/${ids.shareToken}`)).status).toBe(401);
      for (const [kind, token] of Object.entries(tokens)) {
        if (kind === 'shareUnlockToken') continue;
        expect((await http(method, `/s/${ids.shareToken}`, token)).status, `${method} with ${kind}`).toBe(401);
      }
      expect((await http(method, `/s/${ids.shareToken}`, unlockToken)).status).toBe(200);
      const outside = await answer(await http(method, `/s/${ids.folderShareToken}/${ids.outsideFile}`));
      const random = await answer(await http(method, `/s/${ids.folderShareToken}/${randomUUID()}`));
      expect(outside.status).toBe(404);
      expect(outside).toEqual(random);
      // The share's thumbnail route follows the same rules as its downloads.
      const outsideThumb = await answer(await http(method, `/s/${ids.folderShareToken}/thumbnail/${ids.outsideFile}`));
      const randomThumb = await answer(await http(method, `/s/${ids.folderShareToken}/thumbnail/${randomUUID()}`));
      expect(outsideThumb.status).toBe(404);
      expect(outsideThumb).toEqual(randomThumb);
      const unknown = await answer(await http(method, `/s/${randomBytes(32).toString('base64url')}`));
      expect(unknown.status).toBe(404);
    }
  });

  it('/healthz, /readyz, /metrics and /graphiql are open and show no secrets or ids', async () => {
    const secrets = [testEnv.s3.secretAccessKey, TEST_JWT_SECRET, alice.token, alice.refreshToken, ids.file, ids.folder, ids.session, ids.shareToken, alice.userId, alice.email];
    for (const path of ['/healthz', '/readyz', '/metrics', '/graphiql']) {
      const res = await http('GET', path);
      expect(res.status, path).toBe(200);
      const text = await res.text();
      for (const s of secrets) expect(text, `${path} shows a secret`).not.toContain(s);
    }
  });
});
