/** The web app's HTTP side without a browser: the hint page when web/dist is missing, API paths untouched. */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webAppRouter } from '../../api/http/web-app.ts';
import { tempDir } from '../support/db.ts';

let url: string;
let close: () => void;

beforeAll(async () => {
  const app = express();
  app.get('/graphql', (_req, res) => void res.json({ api: true }));
  app.use(webAppRouter(tempDir('stratus-no-dist-')));
  app.use((_req, res) => void res.status(404).json({ error: { code: 'NOT_FOUND' } }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => server.close();
});
afterAll(() => close?.());

describe('webAppRouter without a build', () => {
  it('answers / and deep links with a page saying how to build the app', async () => {
    for (const p of ['/', '/folder/x', '/share/abc', '/drop/abc']) {
      const res = await fetch(`${url}${p}`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('npm run build:web');
    }
  });

  it('leaves API paths and non-HTML requests to the routes after it', async () => {
    expect(await (await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } })).json()).toEqual({ api: true });
    for (const p of ['/files/1/content', '/s/tok', '/upload/a/0', '/metrics', '/healthz', '/tus/abc', '/drop/abc/tus/', '/drop/abc/tus/u1']) {
      expect((await fetch(`${url}${p}`, { headers: { accept: 'text/html' } })).status, p).toBe(404);
    }
    expect((await fetch(`${url}/whatever`, { headers: { accept: 'application/json' } })).status).toBe(404);
    expect((await fetch(`${url}/assets/app-123.js`)).status).toBe(404);
  });

  it('keeps the token of a share or drop page out of the Referer sent to other sites', async () => {
    for (const p of ['/share/abc', '/drop/abc']) {
      const res = await fetch(`${url}${p}`, { headers: { accept: 'text/html' } });
      expect(res.headers.get('referrer-policy'), p).toBe('no-referrer');
    }
    expect((await fetch(`${url}/folder/x`, { headers: { accept: 'text/html' } })).headers.get('referrer-policy')).toBe('same-origin');
  });
});
