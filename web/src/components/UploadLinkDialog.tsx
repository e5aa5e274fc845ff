/**
 * Create an upload link ("file drop") for one folder: people with the link send files into it
 * without an account and without seeing what is there. The link is shown here with a copy
 * button, and listed again on /links.
 */
import { useState, type FormEvent } from 'react';
import { gql } from '../api.ts';
import { humanError } from '../errors.ts';
import type { FileNode } from '../files.ts';
import { CreateUploadLinkDocument, type OwnedUploadLinkFragment } from '../graphql.generated.ts';
import { navigate } from '../router.ts';
import { CopyField } from './CopyField.tsx';
import { Dialog, ErrorText } from './Dialog.tsx';
import { EMPTY_FIELDS, limitsOf, UploadLinkFields, type LinkFields } from './UploadLinkForm.tsx';

export function UploadLinkDialog({ folder, onClose }: { folder: FileNode; onClose: () => void }) {
  const [fields, setFields] = useState<LinkFields>(EMPTY_FIELDS);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<OwnedUploadLinkFragment | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const input = { folderId: folder.id, password: fields.password || null, ...limitsOf(fields) };
      setCreated((await gql(CreateUploadLinkDocument, { input })).createUploadLink);
    } catch (err) {
      setError(humanError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title={`Upload link to “${folder.name}”`} onClose={onClose} wide>
      {created?.url ? (
        <div className="token-secret" data-testid="upload-link-created">
          <p>Send this link to the people who should send you files. You can copy it again from Upload links.</p>
          <CopyField id="upload-link-url" label="Upload link" value={created.url} testId="upload-link-url" />
          <div className="dialog-actions">
            <button type="button" onClick={() => navigate('/links')}>
              See your upload links
            </button>
            <button type="button" className="primary" onClick={onClose}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form onSubmit={(e) => void create(e)} aria-label="New upload link">
          <p className="hint">Anyone with the link can send files into this folder. They cannot see, open or download anything in it.</p>
          <UploadLinkFields fields={fields} onChange={setFields} passwordHint="Visitors type it before they can send files." />
          <ErrorText error={error} />
          <div className="dialog-actions">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Creating…' : 'Create link'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
