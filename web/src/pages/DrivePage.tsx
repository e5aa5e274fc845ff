/** The drive: one folder's contents with breadcrumbs, sorting, item actions, uploads by drop or picker. */
import { Icon } from '../components/Icon.tsx';
import { SearchBox } from '../components/SearchBox.tsx';
import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { ErrorText } from '../components/Dialog.tsx';
import { FolderNameDialog, MoveDialog, RenameDialog } from '../components/FileDialogs.tsx';
import { ShareDialog } from '../components/ShareDialog.tsx';
import { UploadLinkDialog } from '../components/UploadLinkDialog.tsx';
import { VersionsDialog } from '../components/VersionsDialog.tsx';
import { Thumbnail } from '../components/Thumbnail.tsx';
import { UnfinishedUploads } from '../components/UnfinishedUploads.tsx';
import { filesFromDrop, filesFromInput } from '../drop.ts';
import { humanError } from '../errors.ts';
import { deleteFile, downloadFile, loadFolder, type FileNode, type Folder, type SortDirection, type SortField } from '../files.ts';
import { formatBytes, formatDate } from '../format.ts';
import { navigate } from '../router.ts';
import { uploads } from '../uploads.ts';

type Open = { kind: 'rename' | 'move' | 'share' | 'uploadLink' | 'versions'; file: FileNode } | { kind: 'newFolder' } | null;

export function DrivePage({ folderId }: { folderId: string | null }) {
  const [folder, setFolder] = useState<Folder | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [sort, setSort] = useState<{ field: SortField; direction: SortDirection }>(() => {
    const saved = localStorage.getItem('stratus.sort');
    return saved ? (JSON.parse(saved) as { field: SortField; direction: SortDirection }) : { field: 'NAME', direction: 'ASC' };
  });
  const [open, setOpen] = useState<Open>(null);
  const [dragging, setDragging] = useState(false);
  const [unfinishedKey, setUnfinishedKey] = useState(0);

  const reload = useCallback(async () => {
    try {
      setFolder(await loadFolder(folderId, sort.field, sort.direction));
      setError(null);
    } catch (err) {
      setError(humanError(err));
    }
  }, [folderId, sort]);

  useEffect(() => {
    void reload();
  }, [reload]);
  useEffect(() => {
    localStorage.setItem('stratus.sort', JSON.stringify(sort));
  }, [sort]);
  useEffect(
    () =>
      uploads.onCompleted(() => {
        void reload();
        setUnfinishedKey((k) => k + 1);
      }),
    [reload],
  );

  const act = async (fn: () => Promise<unknown>, done?: string) => {
    try {
      await fn();
      setNotice(done ?? null);
      setError(null);
      await reload();
    } catch (err) {
      setError(humanError(err));
    }
  };

  // Files picked before the folder has loaded wait for its id.
  const pending = useRef<{ file: File; folders: string[] }[]>([]);
  const addFiles = (picked: { file: File; folders: string[] }[]) => {
    if (picked.length === 0) return;
    if (!folder) {
      pending.current.push(...picked);
      return;
    }
    uploads.add(picked, folder.id);
  };
  useEffect(() => {
    if (!folder || pending.current.length === 0) return;
    const picked = pending.current;
    pending.current = [];
    uploads.add(picked, folder.id);
  }, [folder]);

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    try {
      addFiles(await filesFromDrop(e.dataTransfer));
    } catch (err) {
      setError(humanError(err));
    }
  };

  const title = folder?.parentId === null || !folder ? 'My drive' : folder.name;
  const items = folder?.children.edges.map((e) => e.node) ?? [];

  return (
    <main
      id="main"
      className={dragging ? 'drive dragging' : 'drive'}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes('Files')) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={(e) => void onDrop(e)}
    >
      <Breadcrumbs folder={folder} title={title} />
      <SearchBox />
      <h1 className="folder-title">{title}</h1>
      <Toolbar sort={sort} onSort={setSort} onFiles={addFiles} onNewFolder={() => setOpen({ kind: 'newFolder' })} />

      <ErrorText error={error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <UnfinishedUploads key={unfinishedKey} parentId={folder?.id ?? null} />

      <FolderContents loaded={folder !== null} failed={Boolean(error)} items={items} title={title} act={act} onOpen={setOpen} />
      {folder && folder.children.pageInfo.hasNextPage && <p className="hint">Showing the first {items.length} of {folder.children.totalCount} items.</p>}
      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          Drop to upload into “{title}”
        </div>
      )}

      <DriveDialogs open={open} folder={folder} onClose={() => setOpen(null)} onDone={() => { setOpen(null); void reload(); }} />
    </main>
  );
}

type Sort = { field: SortField; direction: SortDirection };
type Act = (fn: () => Promise<unknown>, done?: string) => Promise<void>;

function Breadcrumbs({ folder, title }: { folder: Folder | null; title: string }) {
  return (
    <nav aria-label="Breadcrumbs" className="crumbs">
      <ol>
        {folder?.ancestors.map((a) => (
          <li key={a.id}>
            <a href={a.name === '' ? '/' : `/folder/${a.id}`} onClick={(e) => { e.preventDefault(); navigate(a.name === '' ? '/' : `/folder/${a.id}`); }}>
              {a.name === '' ? 'My drive' : a.name}
            </a>
          </li>
        ))}
        <li aria-current="page">{title}</li>
      </ol>
    </nav>
  );
}

function Toolbar({ sort, onSort, onFiles, onNewFolder }: {
  sort: Sort;
  onSort: (sort: Sort) => void;
  onFiles: (picked: { file: File; folders: string[] }[]) => void;
  onNewFolder: () => void;
}) {
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // webkitdirectory is not in React's attribute list: set it on the element.
    folderInput.current?.setAttribute('webkitdirectory', '');
  }, []);
  return (
    <div className="toolbar">
      <button type="button" className="primary" onClick={() => fileInput.current?.click()}>
        Upload files
      </button>
      <button type="button" onClick={() => folderInput.current?.click()}>
        Upload folder
      </button>
      <button type="button" onClick={onNewFolder}>
        New folder
      </button>
      <input ref={fileInput} type="file" multiple hidden aria-label="Choose files to upload" data-testid="file-input" onChange={(e) => { onFiles(filesFromInput(e.target.files)); e.target.value = ''; }} />
      <input ref={folderInput} type="file" multiple hidden aria-label="Choose a folder to upload" onChange={(e) => { onFiles(filesFromInput(e.target.files)); e.target.value = ''; }} />
      <span className="spacer" />
      <label className="sort">
        Sort by
        <select value={sort.field} onChange={(e) => onSort({ ...sort, field: e.target.value as SortField })}>
          <option value="NAME">Name</option>
          <option value="SIZE">Size</option>
          <option value="UPDATED_AT">Date modified</option>
        </select>
      </label>
      <button
        type="button"
        className="icon"
        aria-label={sort.direction === 'ASC' ? 'Ascending order; switch to descending' : 'Descending order; switch to ascending'}
        onClick={() => onSort({ ...sort, direction: sort.direction === 'ASC' ? 'DESC' : 'ASC' })}
      >
        {sort.direction === 'ASC' ? '↑' : '↓'}
      </button>
    </div>
  );
}

function FolderContents({ loaded, failed, items, title, act, onOpen }: { loaded: boolean; failed: boolean; items: FileNode[]; title: string; act: Act; onOpen: (open: Open) => void }) {
  if (!loaded) {
    return failed ? null : (
      <p className="hint" role="status">
        Loading…
      </p>
    );
  }
  if (items.length === 0) {
    return (
      <div className="empty">
        <p>This folder is empty.</p>
        <p className="hint">Drop files or folders here, or use “Upload files”.</p>
      </div>
    );
  }
  return <FileTable items={items} title={title} act={act} onOpen={onOpen} />;
}

function FileTable({ items, title, act, onOpen }: { items: FileNode[]; title: string; act: Act; onOpen: (open: Open) => void }) {
  return (
    <table className="files" aria-label={`Contents of ${title}`}>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col" className="num">Size</th>
          <th scope="col" className="date">Modified</th>
          <th scope="col"><span className="sr-only">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        {items.map((file) => <FileRow key={file.id} file={file} act={act} onOpen={onOpen} />)}
      </tbody>
    </table>
  );
}

function FileRow({ file, act, onOpen }: { file: FileNode; act: Act; onOpen: (open: Open) => void }) {
  return (
    <tr>
      <td className="name">
        {file.isFolder ? (
          <a href={`/folder/${file.id}`} onClick={(e) => { e.preventDefault(); navigate(`/folder/${file.id}`); }}>
            <Icon kind="folder" /> <span className="fname">{file.name}</span>
          </a>
        ) : (
          <button type="button" className="link" onClick={() => void act(() => downloadFile(file))} aria-label={`Download ${file.name}`}>
            <Thumbnail url={file.thumbnailUrl} /> <span className="fname">{file.name}</span>
          </button>
        )}
      </td>
      <td className="num">{file.isFolder ? '—' : formatBytes(file.size)}</td>
      <td className="date">{formatDate(file.updatedAt)}</td>
      <td className="actions">
        <details className="menu">
          <summary aria-label={`Actions for ${file.name}`}>⋯</summary>
          <div className="menu-items" onClick={(e) => e.currentTarget.closest('details')?.removeAttribute('open')}>
            {!file.isFolder && (
              <button type="button" onClick={() => void act(() => downloadFile(file))}>
                Download
              </button>
            )}
            <button type="button" onClick={() => onOpen({ kind: 'share', file })}>
              Share
            </button>
            {file.isFolder && (
              <button type="button" onClick={() => onOpen({ kind: 'uploadLink', file })}>
                Upload link
              </button>
            )}
            {!file.isFolder && (
              <button type="button" onClick={() => onOpen({ kind: 'versions', file })}>
                Versions
              </button>
            )}
            <button type="button" onClick={() => onOpen({ kind: 'rename', file })}>
              Rename
            </button>
            <button type="button" onClick={() => onOpen({ kind: 'move', file })}>
              Move
            </button>
            <button type="button" className="danger" onClick={() => void act(() => deleteFile(file.id), `“${file.name}” was moved to the trash.`)}>
              Delete
            </button>
          </div>
        </details>
      </td>
    </tr>
  );
}

function DriveDialogs({ open, folder, onClose, onDone }: { open: Open; folder: Folder | null; onClose: () => void; onDone: () => void }) {
  return (
    <>
      {open?.kind === 'newFolder' && folder && <FolderNameDialog parentId={folder.id} onClose={onClose} onDone={onDone} />}
      {open?.kind === 'rename' && <RenameDialog file={open.file} onClose={onClose} onDone={onDone} />}
      {open?.kind === 'move' && <MoveDialog file={open.file} onClose={onClose} onDone={onDone} />}
      {open?.kind === 'share' && <ShareDialog file={open.file} onClose={onClose} />}
      {open?.kind === 'uploadLink' && <UploadLinkDialog folder={open.file} onClose={onClose} />}
      {open?.kind === 'versions' && <VersionsDialog file={open.file} onClose={onClose} onRestored={onDone} />}
    </>
  );
}
