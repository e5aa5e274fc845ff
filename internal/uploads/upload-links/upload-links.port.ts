/**
 * What the uploads service does with the sessions of a file drop (the hooks of UploadsDeps.links):
 * - admit: at creation, the link is the viewer's and live, the session goes to its folder, and a
 *   name already there is renamed (`name (1).ext` …);
 * - reserve: one file and its whole size held against maxFiles/maxBytes BEFORE any byte is kept
 *   (one conditional UPDATE: the N+1th file of a maxFiles: N link is refused, PAYLOAD_TOO_LARGE);
 * - release: a cancelled, terminated or expired session gives its reservation back;
 * - arrived: a committed file turns the reservation into a received file, is recorded as an
 *   arrival and published to the owner's `uploadLinkActivity`.
 * Each session's reservation is settled once (upload-links.repository.ts settle).
 */
import type { FileDto } from '../../files/index.ts';
import type { PubSub } from '../../platform/kv/kv.ts';
import type { Viewer } from '../../platform/request-context.ts';
import type { FilesPort } from '../files.port.ts';
import { publishArrival } from './upload-link-activity.channel.ts';
import { toArrivalDto } from './upload-links.dto.ts';
import type { UploadLinksRepository } from './upload-links.repository.ts';
import { MAX_RENAMES, deadLink, limitRefusal, linkState, renamed } from './upload-links.rules.ts';
import type { LinkFolders } from './upload-links.service.ts';

export interface UploadLinksPort {
  admit(viewer: Viewer, linkId: string, name: string): Promise<{ parentId: string; name: string }>;
  reserve(linkId: string, sessionId: string, bytes: number): Promise<void>;
  release(sessionId: string): Promise<void>;
  arrived(sessionId: string, file: Pick<FileDto, 'id' | 'name' | 'size'>): Promise<void>;
}

export function uploadLinksPort(repo: UploadLinksRepository, folders: LinkFolders, files: Pick<FilesPort, 'childByName'>, pubsub: PubSub, now: () => Date = () => new Date()): UploadLinksPort {
  return {
    async admit(viewer, linkId, name) {
      const link = await repo.findOwned(viewer.userId, linkId);
      if (!link || linkState(link, now()) !== 'live' || !(await folders.alive(link.ownerId, link.folderId))) throw deadLink();
      return freeName(files, link.folderId, name);
    },
    async reserve(linkId, sessionId, bytes) {
      if (await repo.reserve(linkId, sessionId, bytes, now())) return;
      const link = await repo.findById(linkId);
      if (!link || link.revokedAt) throw deadLink();
      throw limitRefusal(link, bytes);
    },
    async release(sessionId) {
      await repo.settle(sessionId, null);
    },
    async arrived(sessionId, file) {
      const settled = await repo.settle(sessionId, { fileId: file.id, name: file.name, size: file.size, receivedAt: now() });
      if (settled?.arrival) await publishArrival(pubsub, settled.arrival.ownerId, toArrivalDto(settled.arrival)).catch(() => undefined);
    },
  };
}

/** `name`, or the first of `name (1)`, `name (2)` … not taken in the folder (checked again at commit). */
export async function freeName(files: Pick<FilesPort, 'childByName'>, folderId: string, name: string): Promise<{ parentId: string; name: string }> {
  const first = await files.childByName(folderId, name);
  if (!first.existing) return { parentId: first.parentId, name: first.name };
  for (let n = 1; n <= MAX_RENAMES; n++) {
    const next = await files.childByName(folderId, renamed(first.name, n));
    if (!next.existing) return { parentId: next.parentId, name: next.name };
  }
  return { parentId: first.parentId, name: renamed(first.name, MAX_RENAMES + 1) };
}
