/** The public page of a share link: password prompt when needed, a file to download or a folder to browse. */
import { Icon } from '../components/Icon.tsx';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { publicGql } from '../api.ts';
import { ErrorText } from '../components/Dialog.tsx';
import { Thumbnail } from '../components/Thumbnail.tsx';
import { ApiError, humanError } from '../errors.ts';
import { downloadShared } from '../files.ts';
import { PublicShareDocument, UnlockShareDocument, type PublicShareQuery, type SharedNodeFragment } from '../graphql.generated.ts';
import { formatBytes, formatDate } from '../format.ts';
import { navigate } from '../router.ts';

/** A file or folder of the share (fragment SharedNode). */
type SharedFile = SharedNodeFragment;
type PublicShare = PublicShareQuery['share'];

export function SharePage({ token, itemId }: { token: string; itemId: string | null }) {
  const storageKey = `stratus.unlock.${token}`;
  const [unlock, setUnlock] = useState<string | null>(() => sessionStorage.getItem(storageKey));
  const [share, setShare] = useState<PublicShare | null>(null);
  const [needsPassword, setNeedsPassword] = useState(false);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const data = await publicGql(PublicShareDocument, { token, unlockToken: unlock, item: itemId });
      setShare(data.share);
      setNeedsPassword(false);
      setError(null);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') {
        sessionStorage.removeItem(storageKey);
        setNeedsPassword(true);
        return;
      }
      setError(err instanceof ApiError && err.code === 'NOT_FOUND' ? 'This link does not exist, has expired or was revoked.' : humanError(err));
    }
  }, [token, unlock, itemId, storageKey]);

  useEffect(() => {
    void load();
  }, [load]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const data = await publicGql(UnlockShareDocument, { token, password });
      sessionStorage.setItem(storageKey, data.unlockShare);
      setUnlock(data.unlockShare);
      setPassword('');
    } catch (err) {
      setError(humanError(err));
    } finally {
      setBusy(false);
    }
  };

  const download = async (file: SharedFile) => {
    setError(null);
    try {
      await downloadShared(file.downloadPath, file.name, unlock);
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'NOT_FOUND' ? 'This file can no longer be downloaded (the link expired, reached its limit or was revoked).' : humanError(err));
    }
  };

  const base = `/share/${encodeURIComponent(token)}`;
  return (
    <main id="main" className="share-page">
      <header className="share-head">
        <a className="brand small" href="/">
          Stratus
        </a>
        <span className="hint">Shared with you</span>
      </header>
      {needsPassword ? (
        <PasswordForm password={password} onPassword={setPassword} error={error} busy={busy} onSubmit={(e) => void submit(e)} />
      ) : share ? (
        <section className="card wide">
          {share.item.isFolder ? (
            <SharedFolder share={share} itemId={itemId} base={base} error={error} onDownload={(node) => void download(node)} />
          ) : (
            <SharedFileCard share={share} error={error} onDownload={() => void download(share.item)} />
          )}
        </section>
      ) : error ? (
        <section className="card">
          <h1>Cannot open this link</h1>
          <ErrorText error={error} />
        </section>
      ) : (
        <p role="status">Opening…</p>
      )}
    </main>
  );
}

function PasswordForm({ password, onPassword, error, busy, onSubmit }: {
  password: string;
  onPassword: (password: string) => void;
  error: string | null;
  busy: boolean;
  onSubmit: (e: FormEvent) => void;
}) {
  return (
    <form className="card" onSubmit={onSubmit} aria-label="Unlock the shared item">
      <h1>This link is protected</h1>
      <label>
        Password
        <input type="password" autoFocus required value={password} onChange={(e) => onPassword(e.target.value)} />
      </label>
      <ErrorText error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Checking…' : 'Open'}
      </button>
    </form>
  );
}

function SharedFolder({ share, itemId, base, error, onDownload }: {
  share: PublicShare;
  itemId: string | null;
  base: string;
  error: string | null;
  onDownload: (file: SharedFile) => void;
}) {
  return (
    <>
      <nav aria-label="Breadcrumbs" className="crumbs">
        <ol>
          <li>
            <a href={base} onClick={(e) => { e.preventDefault(); navigate(base); }}>
              {share.root.name}
            </a>
          </li>
          {itemId && itemId !== share.root.id && <li aria-current="page">{share.item.name}</li>}
        </ol>
      </nav>
      <h1><Icon kind="folder" /> {share.item.name}</h1>
      <ErrorText error={error} />
      {share.item.children.edges.length === 0 ? (
        <p>This folder is empty.</p>
      ) : (
        <table className="files" aria-label={`Contents of ${share.item.name}`}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" className="num">Size</th>
              <th scope="col"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {share.item.children.edges.map(({ node }) => <SharedRow key={node.id} node={node} base={base} onDownload={onDownload} />)}
          </tbody>
        </table>
      )}
    </>
  );
}

function SharedRow({ node, base, onDownload }: { node: SharedFile; base: string; onDownload: (file: SharedFile) => void }) {
  return (
    <tr>
      <td className="name">
        {node.isFolder ? (
          <a href={`${base}/${node.id}`} onClick={(e) => { e.preventDefault(); navigate(`${base}/${node.id}`); }}>
            <Icon kind="folder" /> <span className="fname">{node.name}</span>
          </a>
        ) : (
          <><Thumbnail url={node.thumbnailUrl} /> <span className="fname">{node.name}</span></>
        )}
      </td>
      <td className="num">{node.isFolder ? '—' : formatBytes(node.size)}</td>
      <td className="actions">
        {!node.isFolder && (
          <button type="button" onClick={() => onDownload(node)} aria-label={`Download ${node.name}`}>
            Download
          </button>
        )}
      </td>
    </tr>
  );
}

function SharedFileCard({ share, error, onDownload }: { share: PublicShare; error: string | null; onDownload: () => void }) {
  return (
    <>
      <h1 className="shared-name"><Icon kind="file" /> {share.item.name}</h1>
      {share.item.thumbnailUrl && <Thumbnail url={share.item.thumbnailUrl} large />}
      <p>
        {formatBytes(share.item.size)} · updated {formatDate(share.item.updatedAt)}
      </p>
      {share.expiresAt && <p className="hint">This link expires {formatDate(share.expiresAt)}.</p>}
      <ErrorText error={error} />
      <button type="button" className="primary big" onClick={onDownload}>
        Download
      </button>
    </>
  );
}
