/** Helpers around a Stratus server for the benchmarks: removing files for good, draining downloads. */
import http from 'node:http';
import type { StratusApi } from '../../cli/lib/api.ts';
import { createFiles } from '../../internal/files/index.ts';
import type { Viewer } from '../../internal/platform/request-context.ts';
import type { TestApp } from '../../test/support/app.ts';
import type { User } from './target.ts';

/** Trash, then purge: frees the person's quota and (when no other file shares it) the blob. */
export async function removeFile(api: StratusApi, id: string): Promise<void> {
  await api.gql('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id });
  await api.gql('mutation($id: ID!) { purgeFile(id: $id) }', { id });
}

/** Where a file's bytes live in the backend, read through the files service of the in-process app. */
export async function blobOf(t: TestApp, user: User, fileId: string): Promise<{ backend: string; storageKey: string }> {
  const viewer: Viewer = { userId: user.userId, username: user.name, isAdmin: false };
  const { blob } = await createFiles(t.app.runtime).service.content(viewer, fileId);
  return { backend: blob.backend, storageKey: blob.storageKey };
}

/** Keep-alive like the CLI's agent; many sockets so that 8 parallel ranges never queue. */
export const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/**
 * GET with node:http (the SDK uses it too, so both sides pay the same stream costs), body drained.
 * A redirect is followed once, as fetch and browsers do: same method and Range, and no
 * Authorization at the other origin (the presigned URL is its own credential).
 */
export function drainGet(url: string, headers: Record<string, string>): Promise<{ status: number; bytes: number; redirected: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: httpAgent }, (res) => {
      const location = res.headers.location;
      if (res.statusCode === 302 && location) {
        res.resume();
        const { authorization: _dropped, ...rest } = headers;
        drainGet(new URL(location, url).href, rest).then((r) => resolve({ ...r, redirected: true }), reject);
        return;
      }
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, redirected: false }));
      res.on('error', reject);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed just as it was reused (its idle timeout): no byte of
      // an answer came, so the GET is sent again on a new connection, as browsers do.
      if (req.reusedSocket && error.code === 'ECONNRESET') drainGet(url, headers).then(resolve, reject);
      else reject(error);
    });
  });
}

/** Where a GET is redirected to (its Location), without following it. */
export function redirectLocation(url: string, headers: Record<string, string>): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: httpAgent }, (res) => {
        res.resume();
        resolve(res.headers.location);
      })
      .on('error', reject);
  });
}
