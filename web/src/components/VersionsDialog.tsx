/** A file's older contents, newest first, each with its size and date, to restore or download. */
import { useEffect, useState } from 'react';
import { humanError } from '../errors.ts';
import { formatBytes, formatDate } from '../format.ts';
import { downloadVersion, loadVersions, restoreVersion, type FileVersion } from '../versions.ts';
import { Dialog, ErrorText } from './Dialog.tsx';

export function VersionsDialog(props: { file: { id: string; name: string }; onClose: () => void; onRestored: () => void }) {
  const [versions, setVersions] = useState<FileVersion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    loadVersions(props.file.id).then(setVersions, (err: unknown) => setError(humanError(err)));
  }, [props.file.id]);
  const run = async (fn: () => Promise<unknown>, after?: () => void) => {
    setBusy(true);
    try {
      await fn();
      setError(null);
      after?.();
    } catch (err) {
      setError(humanError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Versions of “${props.file.name}”`} onClose={props.onClose} wide>
      {versions === null && !error && <p>Loading…</p>}
      {versions?.length === 0 && <p>No older versions. Uploading a file of the same name as a new version keeps the old content here.</p>}
      {versions && versions.length > 0 && (
        <table className="versions" aria-label="Versions">
          <thead>
            <tr>
              <th>Saved</th>
              <th className="num">Size</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.id}>
                <td className="date">{formatDate(v.createdAt)}</td>
                <td className="num">{formatBytes(v.size)}</td>
                <td className="actions">
                  <button type="button" disabled={busy} onClick={() => void run(() => downloadVersion(props.file, v.id))} aria-label={`Download the version of ${formatDate(v.createdAt)}`}>
                    Download
                  </button>
                  <button type="button" className="primary" disabled={busy} onClick={() => void run(() => restoreVersion(props.file.id, v.id), props.onRestored)} aria-label={`Restore the version of ${formatDate(v.createdAt)}`}>
                    Restore
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorText error={error} />
    </Dialog>
  );
}
