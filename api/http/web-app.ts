/**
 * The web app (web/, built by `npm run build:web` into web/dist): hashed assets with a year-long
 * immutable cache, `index.html` never cached, and the SPA fallback — any other GET or HEAD that
 * accepts HTML and is not an API path gets index.html so `/`, `/folder/…`, `/share/…` and the
 * file-drop page `/drop/{token}` open the app (its tus endpoint `/drop/{token}/tus/` is API).
 * Without a build, `/` explains how to make one. Mounted last, after every API route.
 * Every answer of this router carries the web app's Content-Security-Policy (security-headers.ts:
 * no inline script, no framing); its assets too, since a Web Worker runs under the policy of its
 * own script's response (CSP Level 3 §4.2.1), and the upload worker fetches.
 */
import express, { type Request, type Response, type Router } from 'express';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pageHeaders, WEB_APP_CSP } from './security-headers.ts';

export const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

/** Paths that belong to the API: never answered with the app. */
const API_PATHS = /^\/(graphql|graphiql|files|upload|s|tus|healthz|readyz|metrics|trpc)(\/|$)|^\/drop\/[^/]+\/tus(\/|$)/;

/** Pages whose URL holds a secret token: the token must not leak to other sites through Referer. */
const TOKEN_PAGES = /^\/(share|drop)\//;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stratus</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>Stratus</h1>
<p>The web app is not built yet. Run <code>npm run build:web</code> (or <code>npm start</code>, which builds it first), then reload this page.</p>
<p>The API is up: <a href="/graphiql">GraphiQL</a>.</p>
</body></html>`;

export function webAppRouter(dist: string = WEB_DIST): Router {
  const router = express.Router();
  const index = path.join(dist, 'index.html');

  router.use(
    '/assets',
    express.static(path.join(dist, 'assets'), {
      index: false,
      immutable: true,
      maxAge: '365d',
      setHeaders: (res) => pageHeaders(res, WEB_APP_CSP),
    }),
    // A hashed asset that is not there (an old build's): a plain 404, never the app.
    (_req: Request, res: Response) => void res.status(404).type('text').send('Not found'),
  );
  router.use(
    express.static(dist, {
      index: false,
      maxAge: '1h',
      setHeaders: (res, file) => {
        pageHeaders(res, WEB_APP_CSP);
        if (file.endsWith('.html')) res.setHeader('Cache-Control', 'no-cache');
      },
    }),
  );
  router.get(/.*/, async (req, res, next) => {
    if (API_PATHS.test(req.path) || !req.accepts('html')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    pageHeaders(res, WEB_APP_CSP);
    res.setHeader('Referrer-Policy', TOKEN_PAGES.test(req.path) ? 'no-referrer' : 'same-origin');
    if (!existsSync(index)) {
      res.status(200).type('html').send(NOT_BUILT);
      return;
    }
    res.type('html').send(await readFile(index));
  });
  return router;
}
