/**
 * Builds file-drop links (upload-links.service.ts, the session hooks of upload-links.port.ts, the
 * tRPC router) from the shared runtime. The folder check runs as the link's owner: in the
 * distributed mode the files service is another process, so the call carries a one-minute access
 * token of the owner's, minted here (a visitor has none).
 */
import type { TRPCClient } from '@trpc/client';
import type { FilesRouter } from '../../files/index.ts';
import type { Runtime } from '../../platform/runtime.ts';
import { currentContext, newRequestId, runWithContext, type Viewer } from '../../platform/request-context.ts';
import type { FilesPort } from '../files.port.ts';
import { uploadLinksPort } from './upload-links.port.ts';
import { UploadLinksRepository } from './upload-links.repository.ts';
import { uploadLinksRouter } from './upload-links.router.ts';
import { DEFAULT_LINK_LIMITS, UploadLinksService, type LinkFolders, type UploadLinkLimits } from './upload-links.service.ts';

/** Runs `fn` as the person `ownerId` (their service calls carry a short access token of theirs). */
export async function asOwner<T>(runtime: Pick<Runtime, 'tokens'>, ownerId: string, fn: () => Promise<T>): Promise<T> {
  const viewer: Viewer = { userId: ownerId, username: '', isAdmin: false };
  const accessToken = await runtime.tokens.signAccess(viewer, 60);
  const outer = currentContext();
  return runWithContext({ ...outer, requestId: outer?.requestId ?? newRequestId(), viewer, accessToken }, fn);
}

export function createUploadLinks(runtime: Runtime, files: TRPCClient<FilesRouter>, port: FilesPort) {
  const repo = new UploadLinksRepository(runtime.orm);
  const folders: LinkFolders = {
    alive: (ownerId, folderId) =>
      asOwner(runtime, ownerId, async () => {
        const [folder] = await files.getMany.query({ ids: [folderId] });
        return folder?.isFolder === true;
      }),
  };
  const { dropUploadsPerMinute, dropUnlockFailures } = runtime.config.clientLimits;
  const limits: UploadLinkLimits = { ...DEFAULT_LINK_LIMITS, creationsPerClientMinute: dropUploadsPerMinute, unlockFailuresPerClient: dropUnlockFailures };
  const service = new UploadLinksService(repo, folders, runtime.kv, limits);
  return { service, port: uploadLinksPort(repo, folders, port, runtime.pubsub), router: uploadLinksRouter(service) };
}
