/**
 * The public file-drop page `/drop/{token}`: someone without an account sends files into the link
 * owner's folder. Drag and drop or a file picker (Uppy's DragDrop), per-file progress, resume after
 * a reload (drop-uploader.ts), the password prompt for a protected link, the limits left — and no
 * view of the folder: the page only ever learns uploadLinkInfo (hasPassword, expiry, what may
 * still arrive). Unknown, expired and revoked links read the same one message.
 */
import DragDrop from '@uppy/drag-drop';
import '@uppy/drag-drop/css/style.css';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { publicGql } from '../api.ts';
import { ErrorText } from '../components/Dialog.tsx';
import { createDropUploader, unfinishedUploads, type DropFileView } from '../drop-uploader.ts';
import { ApiError, humanError } from '../errors.ts';
import { DropLinkDocument, UnlockDropLinkDocument, type DropLinkQuery } from '../graphql.generated.ts';
import { formatBytes, formatDate } from '../format.ts';
import '../drop.css';

type Info = DropLinkQuery['uploadLinkInfo'];
type PageState = { kind: 'loading' } | { kind: 'dead' } | { kind: 'password' } | { kind: 'ready'; info: Info } | { kind: 'error'; message: string };

export const DEAD_LINK = 'This link does not exist, has expired or was revoked.';
const FULL_LINK = 'This link has taken all the files it can. Ask its owner for a new one to send more.';

export default function DropPage({ token }: { token: string }) {
  // The drop token lives for this tab only (like a share's unlock token), so a reload keeps it.
  const unlockKey = `stratus.dropUnlock.${token}`;
  const [unlock, setUnlock] = useState<string | null>(() => sessionStorage.getItem(unlockKey));
  const [state, setState] = useState<PageState>({ kind: 'loading' });

  const forget = useCallback(() => {
    sessionStorage.removeItem(unlockKey);
    setUnlock(null);
  }, [unlockKey]);

  const load = useCallback(async () => {
    try {
      const { uploadLinkInfo: info } = await publicGql(DropLinkDocument, { token, unlockToken: unlock });
      setState(info.hasPassword && !unlock ? { kind: 'password' } : { kind: 'ready', info });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'NOT_FOUND') setState({ kind: 'dead' });
      else if (err instanceof ApiError && (err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN')) {
        forget();
        setState({ kind: 'password' });
      } else setState({ kind: 'error', message: humanError(err) });
    }
  }, [token, unlock, forget]);

  useEffect(() => {
    void load();
  }, [load]);

  const onUnlocked = (dropToken: string) => {
    sessionStorage.setItem(unlockKey, dropToken);
    setUnlock(dropToken);
  };
  const onFailure = (failure: 'dead' | 'locked') => {
    if (failure === 'dead') setState({ kind: 'dead' });
    else {
      forget();
      setState({ kind: 'password' });
    }
  };

  return (
    <main id="main" className="share-page drop-page">
      <header className="share-head">
        <span className="brand small">Stratus</span>
        <span className="hint">File drop</span>
      </header>
      {state.kind === 'loading' && <p role="status">Opening…</p>}
      {state.kind === 'dead' && (
        <section className="card" aria-labelledby="dead-title">
          <h1 id="dead-title">This link cannot take files</h1>
          <p role="alert" data-testid="dead-link">{DEAD_LINK}</p>
          <p className="hint">Ask the person who sent it for a new one.</p>
        </section>
      )}
      {state.kind === 'error' && (
        <section className="card">
          <h1>Cannot open this link</h1>
          <ErrorText error={state.message} />
        </section>
      )}
      {state.kind === 'password' && <DropPasswordForm token={token} onUnlocked={onUnlocked} />}
      {state.kind === 'ready' && <DropZone token={token} info={state.info} unlock={unlock} onFailure={onFailure} onArrived={() => void load()} />}
    </main>
  );
}

function DropPasswordForm({ token, onUnlocked }: { token: string; onUnlocked: (dropToken: string) => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const data = await publicGql(UnlockDropLinkDocument, { token, password });
      onUnlocked(data.unlockUploadLink.token);
    } catch (err) {
      // A wrong password (upload_link_password) — or NOT_FOUND, as a dead link answers: the page
      // knew the link a moment ago, so the password is the likely cause.
      const wrong = err instanceof ApiError && (err.code === 'UNAUTHENTICATED' || err.code === 'NOT_FOUND');
      setError(wrong ? 'That password is not right.' : humanError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-label="Unlock the file drop">
      <h1>This link is protected</h1>
      <p className="hint">Enter the password you were given to send files.</p>
      <label>
        Password
        <input type="password" autoFocus required value={password} onChange={(e) => setPassword(e.target.value)} />
      </label>
      <ErrorText error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Checking…' : 'Unlock'}
      </button>
    </form>
  );
}

function limitsText(info: Info): string[] {
  const lines: string[] = [];
  if (info.filesLeft !== null && info.filesLeft !== undefined) lines.push(`Up to ${info.filesLeft} more file${info.filesLeft === 1 ? '' : 's'}.`);
  if (info.bytesLeft !== null && info.bytesLeft !== undefined) lines.push(`Up to ${formatBytes(info.bytesLeft)} more in all.`);
  if (info.expiresAt) lines.push(`Open until ${formatDate(info.expiresAt)}.`);
  return lines;
}

function DropZone({ token, info, unlock, onFailure, onArrived }: {
  token: string;
  info: Info;
  unlock: string | null;
  onFailure: (failure: 'dead' | 'locked') => void;
  onArrived: () => void;
}) {
  const target = useRef<HTMLDivElement>(null);
  const unlockRef = useRef(unlock);
  unlockRef.current = unlock;
  const callbacks = useRef({ onFailure, onArrived });
  callbacks.current = { onFailure, onArrived };
  const [files, setFiles] = useState<DropFileView[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const [earlier] = useState(() => unfinishedUploads(token));
  const retry = useRef<(fileId: string) => void>(() => undefined);

  useEffect(() => {
    const { uppy, views, retry: retryFile } = createDropUploader({
      token,
      unlockToken: () => unlockRef.current,
      onFailure: (failure) => callbacks.current.onFailure(failure),
      onNotice: setNotice,
    });
    if (target.current) {
      uppy.use(DragDrop, { target: target.current, height: 'auto', note: 'Files go straight to the owner; nobody else sees them here.', locale: { strings: { dropHereOr: 'Drop files here or %{browse}', browse: 'choose files' } } });
    }
    retry.current = retryFile;
    const refresh = () => setFiles(views());
    uppy.on('state-update', refresh);
    uppy.on('upload-success', () => callbacks.current.onArrived());
    return () => uppy.destroy();
  }, [token]);

  const limits = limitsText(info);
  // Everything the link takes has arrived: say so instead of offering a drop zone that would refuse.
  const full = info.filesLeft === 0 || info.bytesLeft === 0;
  return (
    <section className="card wide" aria-labelledby="drop-title">
      <h1 id="drop-title">Send files</h1>
      {full ? (
        <p role="status" data-testid="drop-full">{FULL_LINK}</p>
      ) : (
        limits.length > 0 && <p className="hint" data-testid="drop-limits">{limits.join(' ')}</p>
      )}
      <div ref={target} className="drop-target" data-testid="drop-target" hidden={full} />
      <ErrorText error={notice} />
      {earlier.length > 0 && files.length === 0 && (
        <div className="drop-earlier" role="note">
          <p>Unfinished from before: {earlier.map((u) => `${u.name} (${u.size})`).join(', ')}.</p>
          <p className="hint">Choose or drop the same files again to continue where they stopped.</p>
        </div>
      )}
      {files.length > 0 && <DropFileList files={files} onRetry={(id) => retry.current(id)} />}
    </section>
  );
}

function fileStatus(file: DropFileView): string {
  if (file.status === 'done') return 'Sent';
  if (file.status === 'failed') return file.error ?? 'The upload failed.';
  const sent = `${formatBytes(file.sent)} of ${formatBytes(file.size)}`;
  const resumed = file.resumedFrom ? ` · continued from ${formatBytes(file.resumedFrom)}` : '';
  return file.status === 'waiting' ? 'Waiting…' : `${sent}${resumed}`;
}

function DropFileList({ files, onRetry }: { files: DropFileView[]; onRetry: (fileId: string) => void }) {
  return (
    <ul className="upload-list drop-files" aria-label="Files sent through this link">
      {files.map((file) => (
        <li key={file.id} className={`upload-item phase-${file.status}`} data-testid="drop-file">
          <div className="u-name">{file.name}</div>
          <progress max={file.size || 1} value={file.status === 'done' ? file.size || 1 : file.sent} aria-label={`Progress of ${file.name}`} />
          <div className="u-status" role={file.status === 'failed' ? 'alert' : undefined}>
            {fileStatus(file)}
          </div>
          {file.status === 'failed' && (
            <button type="button" onClick={() => onRetry(file.id)} aria-label={`Retry ${file.name}`}>
              Retry
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}
