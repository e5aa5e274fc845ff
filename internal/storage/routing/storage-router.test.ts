import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { testEnv } from '../../../test/support/env.ts';
import { AppError } from '../../platform/errors.ts';
import { createLogger } from '../../platform/logger.ts';
import { defaultRoutingConfig, parseRoutingConfig, type RoutingConfig } from './routing-config.ts';
import { StorageRouter } from './storage-router.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stratus-routing-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A logger whose warnings the test can read. */
function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const log = createLogger({ level: 'info', name: 'test' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg) };
}

/** Write to a temp file and rename over the target, as Kubernetes and most editors do. */
async function writeAtomically(file: string, content: string): Promise<void> {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, content);
  await rename(temp, file);
}

const local = (name: string, dir: string, state = 'active') => ({ name, type: 'local', path: dir, state });
const ceph = (overrides: Record<string, unknown> = {}) => ({
  name: 'ceph',
  type: 'ceph',
  endpoint: 'http://127.0.0.1:7480',
  region: 'us-east-1',
  bucket: 'stratus',
  credentials: { accessKeyId: 'ak', secretAccessKey: 'sk' },
  state: 'active',
  ...overrides,
});

function badInput(json: unknown): AppError {
  try {
    parseRoutingConfig(json);
  } catch (error) {
    expect(AppError.is(error, 'BAD_INPUT')).toBe(true);
    return error as AppError;
  }
  throw new Error('expected BAD_INPUT');
}

describe('parseRoutingConfig', () => {
  it('accepts a valid file with every backend type', () => {
    const config = parseRoutingConfig({
      default: 'ceph',
      backends: [
        ceph(),
        { name: 'oss-1', type: 'oss', endpoint: 'https://oss-cn-hangzhou.aliyuncs.com', region: 'cn-hangzhou', bucket: 'stratus', credentials: { accessKeyId: 'a', accessKeySecret: 'b' }, state: 'readonly' },
        { name: 'cos', type: 'cos', endpoint: 'https://cos.ap-guangzhou.myqcloud.com', region: 'ap-guangzhou', bucket: 'stratus-1250000000', credentials: { secretId: 'a', secretKey: 'b' }, state: 'draining' },
        { ...local('staging', '/tmp/x'), stagingFor: 'ceph' },
      ],
    });
    expect(config.backends.map((b) => b.type)).toEqual(['ceph', 'oss', 'cos', 'local']);
  });

  it.each([
    ['duplicate names', { default: 'ceph', backends: [ceph(), ceph()] }, 'backends[1].name'],
    ['a default naming no backend', { default: 'nope', backends: [ceph()] }, 'default'],
    ['a draining default', { default: 'ceph', backends: [ceph({ state: 'draining' })] }, 'default'],
    ['a readonly default', { default: 'ceph', backends: [ceph({ state: 'readonly' })] }, 'default'],
    ['an unknown type', { default: 'ceph', backends: [ceph({ type: 'gcs' })] }, 'backends[0].type'],
    ['an unknown key', { default: 'ceph', backends: [ceph({ buckett: 'x' })] }, 'backends[0].buckett'],
    ['an unknown top-level key', { default: 'ceph', backends: [ceph()], extra: 1 }, 'extra'],
    ['an unknown credentials key', { default: 'ceph', backends: [ceph({ credentials: { accessKeyId: 'a', secretAccessKey: 'b', token: 'c' } })] }, 'backends[0].credentials.token'],
    ['a short bucket', { default: 'ceph', backends: [ceph({ bucket: 'ab' })] }, 'backends[0].bucket'],
    ['an endpoint that is not a URL', { default: 'ceph', backends: [ceph({ endpoint: 'rgw:7480' })] }, 'backends[0].endpoint'],
    ['a bad name', { default: 'ceph', backends: [ceph({ name: 'Ceph_1' })] }, 'backends[0].name'],
    ['a bad state', { default: 'ceph', backends: [ceph({ state: 'on' })] }, 'backends[0].state'],
    ['stagingFor naming no backend', { default: 'ceph', backends: [ceph({ stagingFor: 'gone' })] }, 'backends[0].stagingFor'],
    ['stagingFor naming itself', { default: 'ceph', backends: [ceph({ stagingFor: 'ceph' })] }, 'backends[0].stagingFor'],
    ['no backends', { default: 'ceph', backends: [] }, 'backends'],
  ])('refuses %s as BAD_INPUT naming the field', (_what, json, field) => {
    const error = badInput(json);
    expect(error.message).toContain(`${field}:`);
    expect(error.details?.fields).toContain(field);
  });

  it('names every bad field at once and never echoes credentials', () => {
    const error = badInput({
      default: 'ceph',
      backends: [ceph({ state: 'draining', bucket: 'ab', credentials: { accessKeyId: 'AKIDSECRET', secretAccessKey: 1 } })],
    });
    expect(error.details?.fields).toEqual(expect.arrayContaining(['default', 'backends[0].bucket', 'backends[0].credentials.secretAccessKey']));
    expect(error.message).not.toContain('AKIDSECRET');
  });

  it('takes a download mode per backend and a public endpoint for ceph, and refuses bad ones', () => {
    const config = parseRoutingConfig({ default: 'ceph', backends: [ceph({ downloads: 'redirect', publicEndpoint: 'https://s3.example.com' })] });
    expect(config.backends[0]).toMatchObject({ downloads: 'redirect', publicEndpoint: 'https://s3.example.com' });
    const error = badInput({ default: 'ceph', backends: [ceph({ downloads: 'direct', publicEndpoint: 's3.example.com' }), local('l', '/x')] });
    expect(error.details?.fields).toEqual(expect.arrayContaining(['backends[0].downloads', 'backends[0].publicEndpoint']));
    // A public endpoint means nothing to a local directory: refused rather than ignored.
    expect(badInput({ default: 'l', backends: [{ ...local('l', '/x'), publicEndpoint: 'https://x' }] }).details?.fields).toContain('backends[0].publicEndpoint');
  });

  it('resolves relative local paths against baseDir', () => {
    const config = parseRoutingConfig({ default: 'a', backends: [local('a', 'objects')] }, { baseDir: '/etc/stratus' });
    expect(config.backends[0]).toMatchObject({ path: '/etc/stratus/objects' });
  });
});

describe('defaultRoutingConfig', () => {
  it('is one active local backend under <dataDir>/objects', () => {
    const config = defaultRoutingConfig('/var/lib/stratus');
    expect(config).toEqual({
      default: 'local',
      backends: [{ name: 'local', type: 'local', path: '/var/lib/stratus/objects', state: 'active' }],
    });
    expect(parseRoutingConfig(config)).toEqual(config);
  });
});

describe('StorageRouter', () => {
  const open = (config: RoutingConfig, retireGraceMs = 0) => {
    const router = new StorageRouter(config, { retireGraceMs });
    cleanups.push(() => router.close());
    return router;
  };

  it('routes by name; an unknown name is UNAVAILABLE unknown_backend', async () => {
    const dir = await tempDir();
    const router = open(parseRoutingConfig({ default: 'a', backends: [local('a', dir), { ...local('b', dir, 'draining'), stagingFor: 'a' }] }));
    expect(router.defaultBackend().name).toBe('a');
    expect(router.store('b').name).toBe('b');
    expect(router.backends()).toEqual([
      { name: 'a', type: 'local', state: 'active', isDefault: true, stagingFor: null },
      { name: 'b', type: 'local', state: 'draining', isDefault: false, stagingFor: 'a' },
    ]);
    const error = (() => {
      try {
        router.store('gone');
      } catch (e) {
        return e;
      }
    })();
    expect(AppError.is(error, 'UNAVAILABLE')).toBe(true);
    expect((error as AppError).details).toMatchObject({ reason: 'unknown_backend' });
  });

  it('apply keeps unchanged stores, closes replaced ones, refuses a bad config', async () => {
    const dir = await tempDir();
    const router = open(parseRoutingConfig({ default: 'a', backends: [local('a', dir), local('b', dir), local('c', dir)] }));
    const [a, b, c] = [router.store('a'), router.store('b'), router.store('c')];
    const closeB = vi.spyOn(b, 'close');
    const closeC = vi.spyOn(c, 'close');
    const changes: string[] = [];
    router.onChange((next, previous) => changes.push(`${previous.default}->${next.default}`));

    // b changes only its state (same driver settings), c moves to another path, a is untouched.
    router.apply(parseRoutingConfig({ default: 'b', backends: [local('a', dir, 'readonly'), local('b', dir), local('c', path.join(dir, 'c'))] }));
    expect(router.store('a')).toBe(a);
    expect(router.store('b')).toBe(b);
    expect(router.store('c')).not.toBe(c);
    expect(router.defaultBackend()).toEqual({ name: 'b', store: b });
    await vi.waitFor(() => expect(closeC).toHaveBeenCalled());
    expect(closeB).not.toHaveBeenCalled();
    expect(changes).toEqual(['a->b']);

    const bad = { default: 'a', backends: [local('a', dir, 'readonly')] } as RoutingConfig;
    expect(() => router.apply(bad)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(router.defaultBackend().name).toBe('b');
    expect(changes).toEqual(['a->b']);
  });

  it('reports each backend\'s download mode and changes it without rebuilding the store', async () => {
    const dir = await tempDir();
    const router = open(parseRoutingConfig({ default: 'a', backends: [local('a', dir), { ...local('b', dir), downloads: 'redirect' }] }));
    expect([router.downloadMode('a'), router.downloadMode('b'), router.downloadMode('gone')]).toEqual(['proxy', 'redirect', 'proxy']);
    const a = router.store('a');
    router.apply(parseRoutingConfig({ default: 'a', backends: [{ ...local('a', dir), downloads: 'redirect' }, local('b', dir)] }));
    expect(router.store('a')).toBe(a);
    expect([router.downloadMode('a'), router.downloadMode('b')]).toEqual(['redirect', 'proxy']);
  });

  it('fromFile follows an atomic rewrite, keeps unchanged stores and ignores a broken write', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'storage.json');
    const [dirA, dirB] = [path.join(dir, 'a'), path.join(dir, 'b')];
    const config = (def: string) => JSON.stringify({ default: def, backends: [local('a', dirA), local('b', dirB)] });
    await writeFile(file, config('a'));
    const { log, warnings } = capturingLogger();
    const router = await StorageRouter.fromFile(file, { log, watch: true });
    cleanups.push(() => router.close());
    const storeA = router.store('a');
    expect(router.defaultBackend().name).toBe('a');

    await writeAtomically(file, config('b'));
    await vi.waitFor(() => expect(router.defaultBackend().name).toBe('b'), { timeout: 3_000, interval: 25 });
    expect(router.store('a')).toBe(storeA);

    await writeAtomically(file, '{ "default": "a", "backends": [');
    await vi.waitFor(() => expect(warnings().length).toBe(1), { timeout: 3_000, interval: 25 });
    await writeAtomically(file, JSON.stringify({ default: 'a', backends: [local('a', dirA, 'draining'), local('b', dirB)] }));
    await vi.waitFor(() => expect(warnings().length).toBe(2), { timeout: 3_000, interval: 25 });
    expect(router.defaultBackend().name).toBe('b');
    expect(router.store('a')).toBe(storeA);

    // The watcher survives refused changes.
    await writeAtomically(file, config('a'));
    await vi.waitFor(() => expect(router.defaultBackend().name).toBe('a'), { timeout: 3_000, interval: 25 });
  });

  it('fromFile follows a ConfigMap-style ..data symlink swap', async () => {
    const dir = await tempDir();
    const publish = async (version: string, def: string) => {
      const versionDir = path.join(dir, `..2026_${version}`);
      await mkdir(versionDir);
      // Relative paths are relative to the mounted directory, not to the versioned one.
      await writeFile(path.join(versionDir, 'config.json'), JSON.stringify({ default: def, backends: [local('a', 'a'), local('b', 'b')] }));
      await symlink(path.basename(versionDir), path.join(dir, '..data_tmp'));
      await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    };
    await publish('01', 'a');
    await symlink(path.join('..data', 'config.json'), path.join(dir, 'config.json'));
    // Polling slowed right down: the directory watch alone has to see the swap.
    const router = await StorageRouter.fromFile(path.join(dir, 'config.json'), { log: capturingLogger().log, watch: true, pollIntervalMs: 60_000 });
    cleanups.push(() => router.close());
    expect(router.config().backends[0]).toMatchObject({ path: path.join(dir, 'a') });
    const storeA = router.store('a');

    await publish('02', 'b');
    await vi.waitFor(() => expect(router.defaultBackend().name).toBe('b'), { timeout: 3_000, interval: 25 });
    expect(router.store('a')).toBe(storeA);
  });

  it('builds a working ceph store from the routing config', async () => {
    const s3 = testEnv.s3;
    const router = open(
      parseRoutingConfig({
        default: 'ceph',
        backends: [ceph({ endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } })],
      }),
    );
    const store = router.store('ceph');
    const key = `routing-test/${randomBytes(6).toString('hex')}`;
    const body = Buffer.from('hello from the storage router');
    try {
      await store.put(key, Readable.from([body]), body.length, { contentType: 'text/plain' });
      expect(await store.head(key)).toMatchObject({ key, size: body.length });
    } finally {
      await store.delete(key);
    }
  });
});
