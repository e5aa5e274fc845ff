/**
 * The owner's upload links ("file drops"): each link's folder, state, limits, what arrived through
 * it, edit and revoke. Arrivals come live through the `uploadLinkActivity` subscription (graphql-ws,
 * the app's one socket); the list is read again on each one so the counters stay the server's.
 * Each link shows its last three arrivals, and its URL with a copy button while it accepts files:
 * a drop link is sent to people again and again.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { gql, subscribe } from '../api.ts';
import { CopyField } from '../components/CopyField.tsx';
import { Dialog, ErrorText } from '../components/Dialog.tsx';
import { fieldsOf, limitsOf, UploadLinkFields, type LinkFields } from '../components/UploadLinkForm.tsx';
import { humanError } from '../errors.ts';
import { RevokeUploadLinkDocument, UpdateUploadLinkDocument, UploadLinkActivityDocument, UploadLinksDocument, type LinkArrivalFragment, type OwnedUploadLinkFragment } from '../graphql.generated.ts';
import { formatBytes, formatDate } from '../format.ts';
import { navigate } from '../router.ts';
import '../links.css';

type Link = OwnedUploadLinkFragment;
type Open = { kind: 'edit' | 'revoke'; link: Link } | null;

export function LinksPage() {
  const [links, setLinks] = useState<Link[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState<LinkArrivalFragment[]>([]);
  const [open, setOpen] = useState<Open>(null);

  const reload = useCallback(async () => {
    try {
      setLinks((await gql(UploadLinksDocument)).uploadLinks);
      setError(null);
    } catch (err) {
      setError(humanError(err));
    }
  }, []);

  useEffect(() => {
    void reload();
    return subscribe(UploadLinkActivityDocument, { linkId: null }, (data) => {
      setLive((before) => [data.uploadLinkActivity, ...before].slice(0, 10));
      void reload();
    });
  }, [reload]);

  const folderName = (linkId: string) => links?.find((l) => l.id === linkId)?.folder?.name ?? 'a folder';
  return (
    <main id="main" className="drive links-page">
      <h1 className="folder-title">Upload links</h1>
      <p className="hint">People with one of these links can send you files without an account; they never see what is in the folder. To make one, open a folder’s actions (⋯) in your drive and choose “Upload link”.</p>
      {live.length > 0 && (
        <section aria-labelledby="live-title" className="settings-section live-arrivals">
          <h2 id="live-title">Just arrived</h2>
          <ul aria-live="polite" data-testid="live-arrivals">
            {live.map((a) => (
              <li key={`${a.fileId}-${a.receivedAt}`}>
                <strong>{a.name}</strong> ({formatBytes(a.size)}) in {folderName(a.linkId)}, {formatDate(a.receivedAt)}
              </li>
            ))}
          </ul>
        </section>
      )}
      <ErrorText error={error} />
      {links === null ? (
        !error && <p className="hint" role="status">Loading…</p>
      ) : links.length === 0 ? (
        <div className="empty">
          <p>No upload links yet.</p>
        </div>
      ) : (
        <ul className="link-list" aria-label="Your upload links">
          {links.map((link) => <LinkItem key={link.id} link={link} onOpen={setOpen} />)}
        </ul>
      )}
      {open?.kind === 'edit' && <EditLinkDialog link={open.link} onClose={() => setOpen(null)} onDone={() => void reload()} />}
      {open?.kind === 'revoke' && <RevokeLinkDialog link={open.link} onClose={() => setOpen(null)} onDone={() => void reload()} />}
    </main>
  );
}

function stateOf(link: Link): string {
  if (link.revoked) return 'Revoked';
  if (link.active) return 'Active';
  if (!link.folder) return 'Folder deleted';
  if (link.expiresAt && Date.parse(link.expiresAt) <= Date.now()) return 'Expired';
  return 'Limit reached';
}

function limitsLine(link: Link): string {
  const files = `${link.filesReceived}${link.maxFiles === null ? '' : ` of ${link.maxFiles}`} file${(link.maxFiles ?? link.filesReceived) === 1 ? '' : 's'}`;
  const bytes = `${formatBytes(link.bytesReceived)}${link.maxBytes === null ? '' : ` of ${formatBytes(link.maxBytes)}`}`;
  return `${files} · ${bytes} received`;
}

function LinkItem({ link, onOpen }: { link: Link; onOpen: (open: Open) => void }) {
  const name = link.folder?.name ?? 'Deleted folder';
  const state = stateOf(link);
  return (
    <li className={`link-item ${link.active ? 'active' : 'inactive'}`} aria-label={`Upload link to ${name}`} data-testid="upload-link">
      <div className="link-head">
        {link.folder ? (
          <a href={`/folder/${link.folderId}`} onClick={(e) => { e.preventDefault(); navigate(`/folder/${link.folderId}`); }}>
            {name}
          </a>
        ) : (
          <span>{name}</span>
        )}
        <span className={`badge ${link.active ? 'ok' : 'off'}`}>{state}</span>
      </div>
      {link.active && <CopyField id={`link-url-${link.id}`} label="Link" value={link.url} testId="link-url" />}
      <p className="share-meta" data-testid="link-counts">{limitsLine(link)}</p>
      <p className="share-meta">
        {link.expiresAt ? `Expires ${formatDate(link.expiresAt)}` : 'No expiry'} · {link.hasPassword ? 'Password' : 'No password'} · created {formatDate(link.createdAt)}
      </p>
      {link.arrivals.length > 0 && (
        <ul className="arrivals" aria-label={`Latest arrivals in ${name}`}>
          {link.arrivals.map((a) => (
            <li key={`${a.fileId}-${a.receivedAt}`}>
              {a.name} · {formatBytes(a.size)} · {formatDate(a.receivedAt)}
            </li>
          ))}
        </ul>
      )}
      {!link.revoked && (
        <div className="row">
          <button type="button" onClick={() => onOpen({ kind: 'edit', link })} aria-label={`Edit the upload link to ${name}`}>
            Edit
          </button>
          <button type="button" className="danger" onClick={() => onOpen({ kind: 'revoke', link })} aria-label={`Revoke the upload link to ${name}`}>
            Revoke
          </button>
        </div>
      )}
    </li>
  );
}

function EditLinkDialog({ link, onClose, onDone }: { link: Link; onClose: () => void; onDone: () => void }) {
  const [fields, setFields] = useState<LinkFields>(() => fieldsOf(link));
  const [removePassword, setRemovePassword] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    // A blank password field keeps the password (the field is left out); the box removes it.
    const password = removePassword ? { password: null } : fields.password ? { password: fields.password } : {};
    try {
      await gql(UpdateUploadLinkDocument, { id: link.id, input: { ...limitsOf(fields), ...password } });
      onDone();
      onClose();
    } catch (err) {
      setError(humanError(err));
    }
  };
  return (
    <Dialog title={`Edit the upload link to “${link.folder?.name ?? 'a deleted folder'}”`} onClose={onClose} wide>
      <form onSubmit={(e) => void save(e)} aria-label="Edit upload link">
        <UploadLinkFields fields={fields} onChange={setFields} passwordHint={link.hasPassword ? 'Leave blank to keep the current password.' : 'Visitors type it before they can send files.'}>
          {link.hasPassword && (
            <label className="inline">
              <input type="checkbox" checked={removePassword} onChange={(e) => setRemovePassword(e.target.checked)} /> Remove the password
            </label>
          )}
        </UploadLinkFields>
        <ErrorText error={error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RevokeLinkDialog({ link, onClose, onDone }: { link: Link; onClose: () => void; onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const revoke = async () => {
    try {
      await gql(RevokeUploadLinkDocument, { id: link.id });
      onDone();
      onClose();
    } catch (err) {
      setError(humanError(err));
    }
  };
  return (
    <Dialog title="Revoke this upload link?" onClose={onClose}>
      <p>Nobody can send files through it any more; uploads in progress stop. Files already received stay in “{link.folder?.name ?? 'the folder'}”.</p>
      <ErrorText error={error} />
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={() => void revoke()}>
          Revoke link
        </button>
      </div>
    </Dialog>
  );
}
