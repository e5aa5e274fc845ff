/**
 * Response headers that keep a browser from doing more than Stratus means it to (issue 17, item 9):
 * - every response: `X-Content-Type-Options: nosniff` (a download or a JSON answer is never
 *   sniffed into HTML or script), `Referrer-Policy: no-referrer`, and — except file bytes — a
 *   Content-Security-Policy that allows nothing (`default-src 'none'`), so an answer rendered by a
 *   browser cannot run script or load anything as a page of this origin (CSP Level 3 §6.1);
 * - file bytes (`/files/{id}/content`, `/s/{token}[/{fileId}]`) carry no CSP: a policy there breaks Chromium's
 *   PDF viewer (`sandbox` blocks it, `default-src 'none'` its styles) for `?inline=1`. They are
 *   safe by other means: `attachment` unless the type is on download.handler.ts's inline list (no
 *   HTML, no SVG), and nosniff, so a stored page is never rendered as one;
 * - the pages (web app, GraphiQL) replace that policy with their own: scripts only from files of
 *   this origin — no inline script, no eval — and `frame-ancestors 'none'` (CSP Level 3 §6.4.2;
 *   with `X-Frame-Options: DENY` for older browsers) so no other site can frame them (clickjacking).
 * Styles may be inline (React and GraphiQL set style attributes and <style> elements); a style
 * cannot run code.
 */
import type { RequestHandler, Response } from 'express';

const COMMON = ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"];

/** For anything that is not one of our pages: nothing may load or run. */
export const API_CSP = ["default-src 'none'", "form-action 'none'", ...COMMON].join('; ');

/**
 * The web app (web/dist, built by Vite: module scripts and a module Web Worker under /assets, no
 * inline script). `connect-src 'self'` covers its fetches and the same-origin WebSocket.
 */
export const WEB_APP_CSP = [
  "default-src 'self'", "script-src 'self'", "worker-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
  "font-src 'self' data:", "connect-src 'self'", "form-action 'self'", ...COMMON,
].join('; ');

/** GraphiQL: its bundles and bootstrap are files under /graphiql/assets (graphiql.ts). */
export const GRAPHIQL_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:", "font-src 'self' data:",
  "connect-src 'self'", "form-action 'none'", ...COMMON,
].join('; ');

/** First thing on every response; a page handler then calls `pageHeaders` with its policy. */
export function securityHeaders(): RequestHandler {
  return (req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    if (!FILE_BYTES.test(req.path)) res.setHeader('Content-Security-Policy', API_CSP);
    next();
  };
}

const FILE_BYTES = /^\/(files\/[^/]+\/content|s\/[^/]+(\/[^/]+)?)\/?$/;

export function pageHeaders(res: Response, csp: string): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
}
