/**
 * GraphiQL at /graphiql from the project's own dependencies (graphiql's UMD bundle and React 18),
 * so it works offline: no CDN is ever contacted. No inline script: the bootstrap is a file too
 * (/graphiql/assets/start.js), so the page's CSP allows scripts from this origin only.
 */
import express, { type Router } from 'express';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GRAPHIQL_CSP, pageHeaders } from './security-headers.ts';

const require = createRequire(import.meta.url);
const dirOf = (pkg: string) => path.dirname(require.resolve(`${pkg}/package.json`));

const ASSETS: Record<string, string> = {
  'react.js': path.join(dirOf('react'), 'umd/react.production.min.js'),
  'react-dom.js': path.join(dirOf('react-dom'), 'umd/react-dom.production.min.js'),
  'graphiql.js': path.join(dirOf('graphiql'), 'graphiql.min.js'),
  'graphiql.css': path.join(dirOf('graphiql'), 'graphiql.min.css'),
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stratus GraphiQL</title>
<link rel="stylesheet" href="/graphiql/assets/graphiql.css">
<style>body{margin:0;height:100vh}#graphiql{height:100vh}</style>
</head>
<body>
<div id="graphiql">Loading…</div>
<script src="/graphiql/assets/react.js"></script>
<script src="/graphiql/assets/react-dom.js"></script>
<script src="/graphiql/assets/graphiql.js"></script>
<script src="/graphiql/assets/start.js"></script>
</body>
</html>`;

const START = `var url = location.origin + '/graphql';
var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: url.replace(/^http/, 'ws') });
var token = localStorage.getItem('stratus.accessToken');
var headers = token ? JSON.stringify({ Authorization: 'Bearer ' + token }, null, 2) : undefined;
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher: fetcher, defaultHeaders: headers, shouldPersistHeaders: true })
);
`;

export function graphiqlRouter(): Router {
  const router = express.Router();
  router.get('/graphiql', (_req, res) => {
    pageHeaders(res, GRAPHIQL_CSP);
    res.type('html').send(PAGE);
  });
  router.get('/graphiql/assets/start.js', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.type('js').send(START);
  });
  router.get('/graphiql/assets/:name', (req, res, next) => {
    const file = ASSETS[req.params.name];
    if (!file) return next();
    res.sendFile(file, { maxAge: '1d' });
  });
  return router;
}
