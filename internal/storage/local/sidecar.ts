/**
 * The local store's sidecars: a JSON file next to each object or part recording its etag and the
 * identity (inode, size, mtime) of the file it describes, so a stale one is noticed and redone.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../platform/private-files.ts';
import { fsCall, readJson } from './fs-errors.ts';

export interface Sidecar {
  etag: string;
  size: number;
  ino: number;
  mtimeMs: number;
  contentType?: string;
}

/**
 * Renames a received file into place with its sidecar, which records the file's identity.
 * Parts pass `makeDirs` false: recreating an aborted upload's directory would resurrect it.
 */
export async function install(tmp: string, target: string, metaTarget: string, etag: string, contentType?: string, makeDirs = true) {
  const stats = await fsCall(() => stat(tmp));
  const meta: Sidecar = { etag, size: stats.size, ino: stats.ino, mtimeMs: stats.mtimeMs, ...(contentType ? { contentType } : {}) };
  const metaTmp = `${tmp}.json`;
  try {
    await fsCall(async () => {
      await writeFile(metaTmp, JSON.stringify(meta), { flag: 'wx', mode: PRIVATE_FILE_MODE });
      if (makeDirs) {
        await mkdir(path.dirname(target), { recursive: true, mode: PRIVATE_DIR_MODE });
        await mkdir(path.dirname(metaTarget), { recursive: true, mode: PRIVATE_DIR_MODE });
      }
      await rename(tmp, target);
      await rename(metaTmp, metaTarget);
    });
  } catch (error) {
    await rm(tmp, { force: true });
    await rm(metaTmp, { force: true });
    throw error;
  }
  return { size: stats.size, etag, lastModified: stats.mtime, ...(contentType ? { contentType } : {}) };
}

/** The sidecar of a file with these stats, or (when stale or missing) a fresh one. */
export async function readSidecar(metaFile: string, stats: Stats, bytes: () => Readable): Promise<Sidecar> {
  const meta = await readJson<Sidecar>(metaFile);
  if (meta && meta.ino === stats.ino && meta.size === stats.size && meta.mtimeMs === stats.mtimeMs) return meta;
  const hash = createHash('md5');
  await fsCall(() => pipeline(bytes(), hash));
  const fresh: Sidecar = { etag: hash.digest('hex'), size: stats.size, ino: stats.ino, mtimeMs: stats.mtimeMs };
  if (meta?.contentType) fresh.contentType = meta.contentType;
  return fresh;
}
