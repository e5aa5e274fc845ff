/** Route templates: every route the gateway mounts, with ids and tokens replaced; anything else `unmatched`. */
import { describe, expect, it } from 'vitest';
import { routeTemplate } from './route-template.ts';

const ID = '3f2b9c1e-8a4d-4f6e-9b7a-1c2d3e4f5a6b';
const TOKEN = 'q8ZtK3vX9pLmN2rS5wY7';

describe('routeTemplate', () => {
  it.each([
    ['/graphql', '/graphql'],
    [`/upload/${ID}/17`, '/upload/:id/:index'],
    [`/files/${ID}/content`, '/files/:id/content'],
    [`/files/${ID}/versions/${ID}/content`, '/files/:id/versions/:versionId/content'],
    [`/files/${ID}/thumbnail`, '/files/:id/thumbnail'],
    [`/s/${TOKEN}`, '/s/:token'],
    [`/s/${TOKEN}/${ID}`, '/s/:token/:fileId'],
    [`/s/${TOKEN}/thumbnail/${ID}`, '/s/:token/thumbnail/:fileId'],
    ['/dav/', '/dav/*'],
    ['/dav/Documents/report%20final.pdf', '/dav/*'],
    ['/tus/', '/tus/'],
    [`/tus/${ID}`, '/tus/:id'],
    [`/drop/${TOKEN}/tus/`, '/drop/:token/tus/'],
    [`/drop/${TOKEN}/tus/${ID}`, '/drop/:token/tus/:id'],
    [`/drop/${TOKEN}`, '/drop/:token'],
    [`/share/${TOKEN}/${ID}`, '/share/:token'],
    [`/folder/${ID}`, '/folder/:id'],
    ['/auth/refresh', '/auth/refresh'],
    ['/healthz', '/healthz'],
    ['/metrics', '/metrics'],
    ['/graphiql/assets/start.js', '/graphiql/assets/:name'],
    ['/assets/index-3f2b9c1e.js', '/assets/:name'],
    ['/favicon.ico', '/:file'],
    ['/', '/'],
  ])('%s → %s', (path, template) => {
    expect(routeTemplate(path)).toBe(template);
  });

  it('names nothing else: unknown paths are `unmatched`, never their text', () => {
    for (const path of [`/files/${ID}`, `/nope/${TOKEN}`, `/upload/${ID}`, '/s/', `/files/${ID}/content/extra`]) expect(routeTemplate(path)).toBe('unmatched');
  });
});
