/**
 * The lock and dead-property hooks of the WebDAV framework (DavHooks, dav-context.ts): PROPFIND
 * asks them for a page at a time, the write handlers before and after changing the drive.
 */
import type { DavHooks } from './dav-context.ts';
import { copied, deadProperties } from './dead-properties.ts';
import { assertWritable, lockDiscovery, removed } from './dav-locks.ts';

export const DAV_WRITE_HOOKS: DavHooks = {
  deadProperties,
  lockDiscovery,
  assertWritable: async (ctx, targets) => void (await assertWritable(ctx, targets)),
  removed,
  copied,
};
