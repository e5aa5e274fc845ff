/** Share links of one file or folder: create (password, expiry, download limit), copy, revoke. */
import { useEffect, useState, type FormEvent } from 'react';
import { gql } from '../api.ts';
import { CreateShareDocument, RevokeShareDocument, SharesDocument, type ShareLinkFragment } from '../graphql.generated.ts';
import { humanError } from '../errors.ts';
import type { FileNode } from '../files.ts';
import { formatDate } from '../format.ts';
import { Dialog, ErrorText } from './Dialog.tsx';

type Share = ShareLinkFragment;

export function ShareDialog({ file, onClose }: { file: FileNode; onClose: () => void }) {
  const [shares, setShares] = useState<Share[]>([]);
  const [password, setPassword] = useState('');
  const [expires, setExpires] = useState('');
  const [limit, setLimit] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<Share | null>(null);
  const [copied, setCopied] = useState<string | null>(null);

  const load = async () => {
    try {
      const data = await gql(SharesDocument);
      setShares(data.shares.filter((s) => s.fileId === file.id));
    } catch (err) {
      setError(humanError(err));
    }
  };
  useEffect(() => {
    void load();
  }, [file.id]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const expiresAt = expires ? new Date(`${expires}T23:59:59`).toISOString() : null;
      const data = await gql(CreateShareDocument, {
        input: { fileId: file.id, password: password || null, expiresAt, maxDownloads: limit ? Number(limit) : null },
      });
      setCreated(data.createShare);
      setPassword('');
      await load();
    } catch (err) {
      setError(humanError(err));
    }
  };

  const copy = async (share: Share) => {
    try {
      await navigator.clipboard.writeText(share.url);
      setCopied(share.id);
    } catch {
      // No clipboard permission: select the text so the person can copy it.
      const input = document.getElementById(`share-url-${share.id}`) as HTMLInputElement | null;
      input?.select();
      setCopied(null);
      setError('Copying is not allowed here; the link is selected, press Ctrl+C (or ⌘C) to copy it.');
    }
  };

  const revoke = async (share: Share) => {
    try {
      await gql(RevokeShareDocument, { id: share.id });
      if (created?.id === share.id) setCreated(null);
      await load();
    } catch (err) {
      setError(humanError(err));
    }
  };

  const today = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  return (
    <Dialog title={`Share “${file.name}”`} onClose={onClose} wide>
      <form onSubmit={(e) => void create(e)} className="share-form" aria-label="New share link">
        <label>
          Password (optional)
          <input type="password" autoComplete="new-password" minLength={4} maxLength={128} value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label>
          Expires on (optional)
          <input type="date" min={today} value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
        <label>
          Download limit (optional)
          <input type="number" min={1} step={1} inputMode="numeric" value={limit} onChange={(e) => setLimit(e.target.value)} />
        </label>
        <div className="dialog-actions">
          <button type="submit" className="primary">
            Create link
          </button>
        </div>
      </form>
      <ErrorText error={error} />
      {shares.length > 0 && (
        <section aria-label="Links">
          <h3>Links</h3>
          <ul className="share-list">
            {shares.map((s) => (
              <li key={s.id} className={created?.id === s.id ? 'new' : undefined}>
                <label className="sr-only" htmlFor={`share-url-${s.id}`}>
                  Share link
                </label>
                <input id={`share-url-${s.id}`} readOnly value={s.url} onFocus={(e) => e.target.select()} data-testid="share-url" />
                <div className="share-meta">
                  {s.hasPassword ? 'Password' : 'No password'} · {s.expiresAt ? `expires ${formatDate(s.expiresAt)}` : 'no expiry'} ·{' '}
                  {s.maxDownloads ? `${s.downloads} of ${s.maxDownloads} downloads` : `${s.downloads} downloads`}
                </div>
                <div className="row">
                  <button type="button" onClick={() => void copy(s)}>
                    {copied === s.id ? 'Copied ✓' : 'Copy link'}
                  </button>
                  <button type="button" className="danger" onClick={() => void revoke(s)}>
                    Revoke
                  </button>
                </div>
              </li>
            ))}
          </ul>
          <p className="sr-only" role="status">
            {copied ? 'Link copied' : ''}
          </p>
        </section>
      )}
    </Dialog>
  );
}
