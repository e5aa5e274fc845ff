/**
 * Registration makes the person's drive (issue 16, item 2): the root folder and the quota row
 * exist as soon as `register` answers, made by the files service through its tRPC client, exactly
 * once however often or concurrently it is asked; a registration whose drive cannot be made
 * leaves no account behind. Both stacks: MariaDB + Redis, SQLite + memory.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileRow, QuotaRow } from '../files/files.entities.ts';
import { createFiles } from '../files/index.ts';
import { AppError } from '../platform/errors.ts';
import { createLogger } from '../platform/logger.ts';
import type { Viewer } from '../platform/request-context.ts';
import { localClient } from '../platform/rpc/client.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { STACKS, createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { UserRow } from './accounts.entities.ts';
import { createAccounts, filesDriveProvisioner, type DriveProvisioner } from './index.ts';
import { CodeBox } from '../../test/support/mail.ts';

const log = createLogger({ level: 'silent' });
const uniq = () => randomBytes(4).toString('hex');
const QUOTA = 123_456_789;

describe.each(STACKS)('registration makes the drive on the %s stack', (stack) => {
  let t: TestRuntime;
  let files: ReturnType<typeof createFiles>;
  const mail = new CodeBox();
  const em = () => t.runtime.orm.em.fork();

  beforeAll(async () => {
    t = await createTestRuntime(stack, { DEFAULT_QUOTA_BYTES: String(QUOTA) });
    files = createFiles(t.runtime);
  });
  afterAll(() => t?.close());

  async function register(drive: DriveProvisioner, name = `user_${uniq()}`) {
    const accounts = createAccounts(t.runtime, drive, mail);
    const caller = createCallerFactory(accounts.router)({ requestId: 'test', viewer: undefined, ip: '127.0.0.1', log });
    const email = `${name}@example.com`;
    await t.runtime.kv.del(`acct:code:${email}:sent`); // the one-a-minute limit is not under test here
    await caller.requestEmailCode({ email });
    return caller.register({ username: name, email, password: 'a-good-password-1', code: mail.codes.get(email) ?? '' });
  }
  const realDrive = () => filesDriveProvisioner(localClient(files.router, log), t.runtime.tokens);

  it('the root folder and the quota row exist when register answers, before any files call', async () => {
    const { user } = await register(realDrive());
    const root = await em().findOne(FileRow, { id: user.id });
    expect(root).toMatchObject({ ownerId: user.id, parentId: null, isFolder: true, name: '', path: `/${user.id}/`, trashKey: '' });
    const quota = await em().findOne(QuotaRow, { userId: user.id });
    expect(quota && { limit: Number(quota.limitBytes), used: Number(quota.usedBytes) }).toEqual({ limit: QUOTA, used: 0 });
  });

  it('provisioning again, or many times at once, leaves one root and one quota row', async () => {
    const { user } = await register(realDrive());
    const viewer: Viewer = { userId: user.id, username: user.username, isAdmin: user.isAdmin };
    const drive = realDrive();
    await Promise.all(Array.from({ length: 8 }, () => drive.provision(viewer)));
    const as = createCallerFactory(files.router)({ requestId: 't', viewer, ip: undefined, log });
    await Promise.all(Array.from({ length: 8 }, () => as.provisionDrive()));
    expect(await em().count(FileRow, { ownerId: user.id, parentId: null })).toBe(1);
    expect(await em().count(FileRow, { ownerId: user.id })).toBe(1);
    expect(await em().count(QuotaRow, { userId: user.id })).toBe(1);
    expect(await as.provisionDrive()).toEqual({ rootId: user.id, used: 0, limit: QUOTA });
  });

  it('a registration whose drive cannot be made fails with that error and leaves no account', async () => {
    const name = `nodrive_${uniq()}`;
    const down: DriveProvisioner = {
      provision: () => Promise.reject(new AppError('UNAVAILABLE', 'files service unreachable')),
    };
    const error = await register(down, name).then(() => undefined, (e: { cause?: unknown }) => e.cause);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('UNAVAILABLE');
    expect(await em().count(UserRow, { usernameKey: name })).toBe(0);
    // The name is free again: the person registers once the files service answers.
    const { user } = await register(realDrive(), name);
    expect(await em().count(FileRow, { id: user.id })).toBe(1);
  });
});
