/**
 * CosObjectStore against the fake COS server (test/fakes/cos-server.ts), which verifies every
 * request's signature (header and presigned URL) as COS documents it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCosServer, type FakeCos } from '../../../test/fakes/cos-server.ts';
import { objectStoreContract } from '../object-store.contract.ts';
import { appErrorOf, expectUnreachable, textBody } from '../test-bytes.ts';
import { CosObjectStore } from './cos.store.ts';

const creds = { accessKeyId: 'AKIDStratusTest0123456789', secret: 'cos-test-secret-0123456789', bucket: 'stratus-1250000000' };

const storeOn = (endpoint: string, overrides: { secretId?: string; secretKey?: string } = {}) =>
  new CosObjectStore({
    name: 'cos-test',
    endpoint,
    region: 'ap-guangzhou',
    bucket: creds.bucket,
    secretId: overrides.secretId ?? creds.accessKeyId,
    secretKey: overrides.secretKey ?? creds.secret,
    timeoutMs: 10_000,
  });

objectStoreContract('cos', async () => {
  const server = await startCosServer(creds);
  return { store: storeOn(server.endpoint), cleanup: () => server.close() };
});

describe('CosObjectStore against the fake COS', () => {
  let server: FakeCos;
  let store: CosObjectStore;
  const key = 'signing/report ü (1).txt';

  beforeAll(async () => {
    server = await startCosServer(creds);
    store = storeOn(server.endpoint);
    await store.put(key, textBody('signed bytes'), 12, { contentType: 'text/plain' });
  });
  afterAll(async () => {
    await store.close();
    await server.close();
  });

  it('signs every request with q-sign-algorithm=sha1, which the server verifies', async () => {
    server.log.length = 0;
    await store.head(key);
    const id = await store.createMultipart('signing/mp');
    await store.listMultipartUploads('signing/');
    await store.abortMultipart('signing/mp', id);
    const got = await store.get(key, { start: 0, end: 5 });
    got.body.resume();
    expect(server.log.map((entry) => [entry.method, entry.auth, entry.status])).toEqual([
      ['HEAD', 'q-sign-algorithm=sha1', 200],
      ['POST', 'q-sign-algorithm=sha1', 200],
      ['GET', 'q-sign-algorithm=sha1', 200],
      ['DELETE', 'q-sign-algorithm=sha1', 204],
      ['GET', 'query', 206],
    ]);
  });

  it('maps a request signed with a wrong secret (403 SignatureDoesNotMatch) to UNAVAILABLE backend_auth', async () => {
    const wrong = storeOn(server.endpoint, { secretKey: 'not-the-secret' });
    try {
      const put = await appErrorOf(wrong.put('signing/other', textBody('x'), 1));
      expect(put).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'backend_auth', status: 403, cos: 'SignatureDoesNotMatch' } });
      expect(await appErrorOf(wrong.get(key))).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'backend_auth', cos: 'SignatureDoesNotMatch' } });
      expect(await appErrorOf(wrong.createMultipart('signing/mp'))).toMatchObject({ details: { reason: 'backend_auth' } });
      expect(await appErrorOf(wrong.head(key))).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'backend_auth' } });
      expect(await store.head('signing/other')).toBeNull();
    } finally {
      await wrong.close();
    }
    const unknown = storeOn(server.endpoint, { secretId: 'AKIDunknown' });
    expect(await appErrorOf(unknown.put('signing/other', textBody('x'), 1))).toMatchObject({
      code: 'UNAVAILABLE',
      details: { reason: 'backend_auth', cos: 'InvalidAccessKeyId' },
    });
    await unknown.close();
  });

  it('answers a bad signature with the COS XML error body', async () => {
    const url = new URL(await store.presignGet(key, { expiresInSeconds: 60 }));
    url.searchParams.set('q-signature', '0'.repeat(40));
    const response = await fetch(url);
    expect(response.status).toBe(403);
    expect(response.headers.get('x-cos-request-id')).toMatch(/^[0-9A-F]{24}$/);
    const body = await response.text();
    expect(body).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(body).toMatch(/<RequestId>[0-9A-F]{24}<\/RequestId><TraceId>/);
  });

  it('refuses a tampered presigned URL (sign time, path, or a parameter changed or added)', async () => {
    const url = new URL(await store.presignGet(key, { expiresInSeconds: 60, downloadName: 'a.txt' }));
    expect((await fetch(url)).status).toBe(200);
    const later = (window: string) => window.replace(/;(\d+)$/, (_m, end: string) => `;${Number(end) + 3600}`);
    const tampered: [(u: URL) => void, string][] = [
      [(u) => u.searchParams.set('q-sign-time', later(u.searchParams.get('q-sign-time')!)), 'SignatureDoesNotMatch'],
      [(u) => u.searchParams.set('q-key-time', later(u.searchParams.get('q-key-time')!)), 'SignatureDoesNotMatch'],
      [(u) => (u.pathname = '/signing/other.txt'), 'SignatureDoesNotMatch'],
      [(u) => u.searchParams.set('response-content-disposition', 'inline'), 'SignatureDoesNotMatch'],
      [(u) => u.searchParams.set('response-content-type', 'text/html'), 'AccessDenied'],
    ];
    for (const [change, code] of tampered) {
      const copy = new URL(url);
      change(copy);
      const response = await fetch(copy);
      expect(response.status).toBe(403);
      expect(await response.text()).toContain(`<Code>${code}</Code>`);
    }
  });

  it('refuses an expired presigned URL', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 3600_000);
    const url = await store.presignGet(key, { expiresInSeconds: 60 });
    vi.useRealTimers();
    const response = await fetch(url);
    expect(response.status).toBe(403);
    const body = await response.text();
    expect(body).toContain('<Code>AccessDenied</Code>');
    expect(body).toContain('<Message>Request has expired</Message>');
  });

  it('is UNAVAILABLE (backend_unreachable) when the endpoint cannot be reached', async () => {
    const down = storeOn('http://127.0.0.1:9');
    try {
      await expectUnreachable(down);
    } finally {
      await down.close();
    }
  });
});
