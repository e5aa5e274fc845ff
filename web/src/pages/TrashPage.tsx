/** The trash: restore an item where it was, or delete it for good. */
import { Icon } from '../components/Icon.tsx';
import { useEffect, useState } from 'react';
import { ErrorText } from '../components/Dialog.tsx';
import { humanError } from '../errors.ts';
import { loadTrash, purgeFile, restoreFile, type FileNode } from '../files.ts';
import { formatBytes, formatDate } from '../format.ts';

export function TrashPage() {
  const [items, setItems] = useState<FileNode[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const reload = async () => {
    try {
      setItems(await loadTrash());
    } catch (err) {
      setError(humanError(err));
    }
  };
  useEffect(() => {
    void reload();
  }, []);
  const act = async (fn: () => Promise<unknown>, message: string) => {
    try {
      await fn();
      setNotice(message);
      setError(null);
      await reload();
    } catch (err) {
      setError(humanError(err));
    }
  };
  return (
    <main id="main" className="drive">
      <h1 className="folder-title">Trash</h1>
      <p className="hint">Items in the trash still count towards your storage until you delete them for good.</p>
      <ErrorText error={error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {items && items.length === 0 ? (
        <div className="empty">
          <p>The trash is empty.</p>
        </div>
      ) : (
        <table className="files" aria-label="Trash">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" className="num">Size</th>
              <th scope="col" className="date">Deleted</th>
              <th scope="col"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {items?.map((file) => (
              <tr key={file.id}>
                <td className="name">
                  <Icon kind={file.isFolder ? 'folder' : 'file'} /> <span className="fname">{file.name}</span>
                </td>
                <td className="num">{file.isFolder ? '—' : formatBytes(file.size)}</td>
                <td className="date">{formatDate(file.trashedAt)}</td>
                <td className="actions row">
                  <button type="button" onClick={() => void act(() => restoreFile(file.id), `“${file.name}” was restored.`)} aria-label={`Restore ${file.name}`}>
                    Restore
                  </button>
                  <button type="button" className="danger" onClick={() => void act(() => purgeFile(file.id), `“${file.name}” was deleted for good.`)} aria-label={`Delete ${file.name} for good`}>
                    Delete for good
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
