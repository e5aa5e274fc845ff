/**
 * The route template of a request path (`/files/:id/content`, `/s/:token`, `/tus/:id`), for the
 * request metric's `route` label and the access log: ids and share or link tokens never become
 * label values or log text. One table for every route the gateway mounts (gateway.ts) and the web
 * app's pages (web/src/router.ts); anything else is `unmatched`. Decided from the path alone, at
 * the start of the request: a router mounted on a path (app.use('/graphql', …)) strips it from
 * req.url, and the response often finishes inside that router.
 */

const EXACT = new Set(['/', '/graphql', '/healthz', '/readyz', '/metrics', '/graphiql', '/auth/refresh', '/auth/logout', '/trash', '/settings', '/links', '/activity', '/signin', '/signup']);

/** In order: the first pattern that matches names the route. `[^/]+` is one path segment. */
const PATTERNS: readonly (readonly [RegExp, string])[] = [
  [/^\/graphql\/?$/, '/graphql'],
  [/^\/upload\/[^/]+\/[^/]+\/?$/, '/upload/:id/:index'],
  [/^\/files\/[^/]+\/content\/?$/, '/files/:id/content'],
  [/^\/files\/[^/]+\/versions\/[^/]+\/content\/?$/, '/files/:id/versions/:versionId/content'],
  [/^\/files\/[^/]+\/thumbnail\/?$/, '/files/:id/thumbnail'],
  [/^\/s\/[^/]+\/thumbnail\/[^/]+\/?$/, '/s/:token/thumbnail/:fileId'],
  [/^\/s\/[^/]+\/[^/]+\/?$/, '/s/:token/:fileId'],
  [/^\/s\/[^/]+\/?$/, '/s/:token'],
  [/^\/dav(\/.*)?$/, '/dav/*'],
  [/^\/tus\/?$/, '/tus/'],
  [/^\/tus\/[^/]+\/?$/, '/tus/:id'],
  [/^\/drop\/[^/]+\/tus\/?$/, '/drop/:token/tus/'],
  [/^\/drop\/[^/]+\/tus\/[^/]+\/?$/, '/drop/:token/tus/:id'],
  [/^\/drop\/[^/]+\/?$/, '/drop/:token'],
  [/^\/share\/[^/]+(\/[^/]+)?\/?$/, '/share/:token'],
  [/^\/folder\/[^/]+\/?$/, '/folder/:id'],
  [/^\/graphiql\/assets\/[^/]+$/, '/graphiql/assets/:name'],
  [/^\/assets\/[^/]+$/, '/assets/:name'],
  // The web app's top-level files (favicon.ico, manifest.webmanifest, …).
  [/^\/[\w.-]+\.[A-Za-z0-9]+$/, '/:file'],
];

export function routeTemplate(path: string): string {
  if (EXACT.has(path)) return path;
  for (const [pattern, template] of PATTERNS) if (pattern.test(path)) return template;
  return 'unmatched';
}
