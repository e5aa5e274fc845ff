/**
 * OPTIONS: what this server speaks. RFC 4918 §10.1: "This header indicates that the resource
 * supports the DAV schema and protocol as specified. All DAV-compliant resources MUST return the
 * DAV header with compliance-class '1' on all OPTIONS responses"; class 2 (locking) is listed
 * too, and §18.2: "A class 2 compliant resource MUST meet all class 1 requirements and support
 * the LOCK method, the DAV:supportedlock property, the DAV:lockdiscovery property, the Time-Out
 * response header and the Lock-Token request header". `MS-Author-Via: DAV` makes Microsoft
 * clients use WebDAV rather than FrontPage extensions.
 */
import type { DavContext } from './dav-context.ts';
import { allowHeader } from './dav.router.ts';

export function optionsHandler(ctx: DavContext): Promise<void> {
  ctx.res.setHeader('DAV', '1, 2');
  ctx.res.setHeader('MS-Author-Via', 'DAV');
  ctx.res.setHeader('Allow', allowHeader());
  ctx.res.setHeader('Accept-Ranges', 'bytes');
  ctx.res.setHeader('Content-Length', '0');
  ctx.res.status(200).end();
  return Promise.resolve();
}
