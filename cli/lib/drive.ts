/**
 * The drive operations behind `mkdir`, `mv`, `rm` and `share`, on paths (remote-path.ts) and the
 * GraphQL mutations. The server decides what is allowed (names, cycles, the root, share rules)
 * and its answer, with its stable reason, is what the user sees; the client only checks up front
 * what would otherwise leave a two-step change half done.
 */
import { ApiError, type StratusApi } from './api.ts';
import { AncestorsDocument, CreateFolderDocument, CreateShareDocument, DeleteFileDocument, MoveFileDocument, RenameFileDocument, type CreateShareMutation, type RemoteItemFragment } from './graphql.generated.ts';
import { findChild, joinPath, resolve, resolveFolder, splitLast, walk, type RemoteItem } from './remote-path.ts';

type Item = RemoteItemFragment;

const nameTaken = (remote: string) => new ApiError(`${remote} already exists`, 'CONFLICT', { reason: 'name_taken' });

async function createFolder(api: StratusApi, parent: RemoteItem, name: string): Promise<RemoteItem> {
  const { createFolder: made } = await api.gql(CreateFolderDocument, { parentId: parent.id, name });
  return { ...made, path: joinPath(parent.path, made.name) };
}

/**
 * `mkdir`: the folder at `remote`. Without `parents` its parent must exist and the name be free
 * (the server answers `name_taken`); with `parents` every missing folder is made and an existing
 * folder is fine. `created` lists the folders made, outermost first.
 */
export async function makeFolder(api: StratusApi, remote: string, parents: boolean): Promise<{ folder: RemoteItem; created: RemoteItem[] }> {
  const { found, rest } = await walk(api, remote);
  if (rest.length === 0) {
    if (parents && found.isFolder) return { folder: found, created: [] };
    throw nameTaken(found.path);
  }
  if (!found.isFolder) throw new ApiError(`not a folder: ${found.path}`, 'BAD_INPUT', { reason: 'not_a_folder' });
  if (rest.length > 1 && !parents) throw new ApiError(`no such folder: ${joinPath(found.path, rest[0] ?? '')} (use -p to create it)`, 'NOT_FOUND', { reason: 'no_such_path' });
  const created: RemoteItem[] = [];
  let parent = found;
  for (const name of rest) {
    try {
      parent = await createFolder(api, parent, name);
      created.push(parent);
    } catch (error) {
      // Someone made it meanwhile: with -p that is what we wanted.
      const existing = parents && error instanceof ApiError && error.code === 'CONFLICT' ? await findChild(api, parent, name) : undefined;
      if (!existing?.isFolder) throw error;
      parent = existing;
    }
  }
  return { folder: parent, created };
}

async function rename(api: StratusApi, id: string, name: string): Promise<Item> {
  return (await api.gql(RenameFileDocument, { id, name })).renameFile;
}

async function move(api: StratusApi, id: string, parentId: string): Promise<Item> {
  return (await api.gql(MoveFileDocument, { id, parentId })).moveFile;
}

async function isInside(api: StratusApi, folder: RemoteItem, item: RemoteItem): Promise<boolean> {
  if (folder.id === item.id) return true;
  const { file } = await api.gql(AncestorsDocument, { id: folder.id });
  return file.ancestors.some((a) => a.id === item.id);
}

/**
 * `mv SRC DST`, like mv(1): DST an existing folder → SRC moves into it; otherwise DST's parent
 * must be a folder and SRC moves there under DST's last name. Never overwrites. A move plus a
 * rename is two mutations: everything that can be checked is checked before the first, they run
 * in the order whose intermediate name is free, and a failed second step undoes the first.
 */
export async function moveItem(api: StratusApi, from: string, to: string): Promise<RemoteItem> {
  const src = await resolve(api, from);
  if (src.parentId === null) throw new ApiError('The root folder cannot be moved', 'BAD_INPUT', { reason: 'root' });
  const destination = await destinationOf(api, src, to);
  if (destination === 'here') return src;
  const { target, name } = destination;
  const moving = src.parentId !== target.id;
  if (moving && src.isFolder && (await isInside(api, target, src))) {
    throw new ApiError('A folder cannot be moved into itself', 'BAD_INPUT', { reason: 'move_cycle' });
  }
  const result = await moveAndRename(api, src, target, name);
  return { ...result, path: joinPath(target.path, result.name) };
}

/** The folder SRC goes into and its name there ('here': DST is the folder SRC is already in). */
async function destinationOf(api: StratusApi, src: RemoteItem, to: string): Promise<{ target: RemoteItem; name: string } | 'here'> {
  const { found, rest } = await walk(api, to);
  if (rest.length === 0 && found.id === src.id) {
    // A change of case only: `mv /a/x /a/X` finds x itself under the new spelling.
    return { target: await resolveFolder(api, splitLast(to).parent), name: splitLast(to).name ?? src.name };
  }
  if (rest.length === 0 && found.isFolder) {
    if (src.parentId === found.id) return 'here';
    if (await findChild(api, found, src.name)) throw nameTaken(joinPath(found.path, src.name));
    return { target: found, name: src.name };
  }
  if (rest.length === 0) throw nameTaken(found.path);
  if (rest.length === 1 && found.isFolder) return { target: found, name: rest[0] ?? src.name };
  throw new ApiError(`no such folder: ${joinPath(found.path, rest[0] ?? '')}`, 'NOT_FOUND', { reason: found.isFolder ? 'no_such_path' : 'not_a_folder' });
}

/**
 * The one or two mutations; for both, in the order whose intermediate name is free, and a failed
 * second step undoes the first.
 */
async function moveAndRename(api: StratusApi, src: RemoteItem, target: RemoteItem, name: string): Promise<Item> {
  const moving = src.parentId !== target.id;
  const renaming = src.name !== name;
  if (!moving) return renaming ? rename(api, src.id, name) : src;
  if (!renaming) return move(api, src.id, target.id);
  const parent = await resolveFolder(api, splitLast(src.path).parent);
  const sibling = await findChild(api, parent, name);
  const renameFirst = !sibling || sibling.id === src.id;
  await (renameFirst ? rename(api, src.id, name) : move(api, src.id, target.id));
  try {
    return renameFirst ? await move(api, src.id, target.id) : await rename(api, src.id, name);
  } catch (error) {
    await (renameFirst ? rename(api, src.id, src.name) : move(api, src.id, src.parentId ?? '')).catch(() => undefined);
    throw error;
  }
}

/** `rm`: to the trash (restorable from the trash); the server refuses the root (`root`). */
export async function trashItem(api: StratusApi, remote: string): Promise<RemoteItem> {
  const item = await resolve(api, remote);
  const { deleteFile } = await api.gql(DeleteFileDocument, { id: item.id });
  return { ...deleteFile, path: item.path };
}

export type ShareView = CreateShareMutation['createShare'];

export async function shareItem(api: StratusApi, remote: string, options: { password?: string; expiresAt?: Date; maxDownloads?: number }): Promise<ShareView & { path: string }> {
  const item = await resolve(api, remote);
  const { createShare } = await api.gql(CreateShareDocument, {
    input: { fileId: item.id, password: options.password ?? null, expiresAt: options.expiresAt?.toISOString() ?? null, maxDownloads: options.maxDownloads ?? null } },
  );
  return { ...createShare, path: item.path };
}
