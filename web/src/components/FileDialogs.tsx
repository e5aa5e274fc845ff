/** New folder, rename and move (with a small folder picker). */
import { Icon } from './Icon.tsx';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { humanError } from '../errors.ts';
import { createFolder, moveFile, renameFile, subfolders, type FileNode, type Folder } from '../files.ts';
import { Dialog, ErrorText } from './Dialog.tsx';

function NameForm(props: { label: string; initial: string; submitLabel: string; onSubmit: (name: string) => Promise<unknown>; onDone: () => void }) {
  const [name, setName] = useState(props.initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // Focus the name with its stem selected (the extension stays), once.
    const el = input.current;
    if (!el) return;
    el.focus();
    const dot = el.value.lastIndexOf('.');
    el.setSelectionRange(0, dot > 0 ? dot : el.value.length);
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await props.onSubmit(name.trim());
      props.onDone();
    } catch (err) {
      setError(humanError(err));
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)}>
      <label>
        {props.label}
        <input
          ref={input}
          required
          maxLength={255}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
      </label>
      <ErrorText error={error} />
      <div className="dialog-actions">
        <button type="submit" className="primary" disabled={busy || !name.trim()}>
          {props.submitLabel}
        </button>
      </div>
    </form>
  );
}

export function FolderNameDialog(props: { parentId: string; onClose: () => void; onDone: () => void }) {
  return (
    <Dialog title="New folder" onClose={props.onClose}>
      <NameForm label="Folder name" initial="" submitLabel="Create" onSubmit={(n) => createFolder(props.parentId, n)} onDone={props.onDone} />
    </Dialog>
  );
}

export function RenameDialog(props: { file: FileNode; onClose: () => void; onDone: () => void }) {
  return (
    <Dialog title={`Rename “${props.file.name}”`} onClose={props.onClose}>
      <NameForm label="New name" initial={props.file.name} submitLabel="Rename" onSubmit={(n) => renameFile(props.file.id, n)} onDone={props.onDone} />
    </Dialog>
  );
}

export function MoveDialog(props: { file: FileNode; onClose: () => void; onDone: () => void }) {
  const [at, setAt] = useState<string | null>(null);
  const [folder, setFolder] = useState<Folder | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    subfolders(at).then(setFolder, (err: unknown) => setError(humanError(err)));
  }, [at]);
  const here = folder ? (folder.parentId === null ? 'My drive' : folder.name) : '…';
  const move = async () => {
    if (!folder) return;
    try {
      await moveFile(props.file.id, folder.id);
      props.onDone();
    } catch (err) {
      setError(humanError(err));
    }
  };
  return (
    <Dialog title={`Move “${props.file.name}”`} onClose={props.onClose}>
      <p>
        Destination: <strong>{here}</strong>
      </p>
      <ul className="picker" aria-label="Folders">
        {folder && folder.parentId !== null && (
          <li>
            <button type="button" onClick={() => setAt(folder.parentId)}>
              ← Up one level
            </button>
          </li>
        )}
        {folder?.children.edges
          .filter((e) => e.node.id !== props.file.id)
          .map((e) => (
            <li key={e.node.id}>
              <button type="button" onClick={() => setAt(e.node.id)} aria-label={`Open folder ${e.node.name}`}>
                <Icon kind="folder" /> {e.node.name}
              </button>
            </li>
          ))}
        {folder && folder.children.edges.length === 0 && <li className="hint">No folders here.</li>}
      </ul>
      <ErrorText error={error} />
      <div className="dialog-actions">
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" className="primary" disabled={!folder || folder.id === props.file.parentId} onClick={() => void move()}>
          Move here
        </button>
      </div>
    </Dialog>
  );
}
