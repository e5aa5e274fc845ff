/**
 * Uploads left unfinished (the browser was closed or reloaded): the server's open sessions.
 * Choosing the same file again continues from the chunks the server already has.
 */
import { useEffect, useState } from 'react';
import { gql } from '../api.ts';
import { humanError } from '../errors.ts';
import { formatBytes } from '../format.ts';
import { CancelUploadDocument, OpenUploadsDocument } from '../graphql.generated.ts';
import { percentOf, uploads, type SessionView } from '../uploads.ts';
import { ErrorText } from './Dialog.tsx';

const ACTIVE = new Set(['queued', 'hashing', 'checking', 'uploading', 'pausing', 'paused', 'completing', 'done']);

export function UnfinishedUploads({ parentId }: { parentId: string | null }) {
  const [sessions, setSessions] = useState<SessionView[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [, setTick] = useState(0);

  const load = async () => {
    try {
      setSessions((await gql(OpenUploadsDocument)).uploads);
    } catch (err) {
      setError(humanError(err));
    }
  };
  useEffect(() => {
    void load();
  }, []);
  useEffect(() => uploads.subscribe(() => setTick((t) => t + 1)), []);

  const handled = new Set(uploads.items.filter((i) => i.sessionId && ACTIVE.has(i.phase)).map((i) => i.sessionId));
  const handledNames = new Set(uploads.items.filter((i) => ACTIVE.has(i.phase) && !i.sessionId).map((i) => `${i.name}:${i.size}`));
  const left = sessions.filter((s) => !handled.has(s.id) && !handledNames.has(`${s.name}:${s.size}`) && ['PENDING', 'UPLOADING', 'PAUSED'].includes(s.status));
  if (left.length === 0 && !error) return null;

  const discard = async (s: SessionView) => {
    try {
      await gql(CancelUploadDocument, { id: s.id });
      await load();
    } catch (err) {
      setError(humanError(err));
    }
  };

  return (
    <section className="unfinished" aria-labelledby="unfinished-title">
      <h2 id="unfinished-title">Unfinished uploads</h2>
      <p className="hint">Choose the same file again to continue where it stopped.</p>
      <ErrorText error={error} />
      <ul>
        {left.map((s) => (
          <li key={s.id}>
            <div className="u-name">
              <strong>{s.name}</strong> · {formatBytes(s.uploadedBytes)} of {formatBytes(s.size)} ({percentOf(s.uploadedBytes, s.size)} %)
              {parentId !== null && s.parentId !== parentId && <span className="hint"> · in another folder</span>}
            </div>
            <div className="row">
              <label className="button">
                Choose file to continue
                <input
                  type="file"
                  className="visually-hidden-input"
                  aria-label={`Choose ${s.name} to continue its upload`}
                  onChange={(e) => {
                    const file = e.target.files?.[0];
                    e.target.value = '';
                    if (!file) return;
                    if (file.size !== s.size) {
                      setError(`That file has a different size than “${s.name}” (${formatBytes(s.size)}). Choose the same file.`);
                      return;
                    }
                    setError(null);
                    uploads.add([{ file }], s.parentId, s.id, s.name);
                  }}
                />
              </label>
              <button type="button" className="danger" onClick={() => void discard(s)} aria-label={`Discard the upload of ${s.name}`}>
                Discard
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
