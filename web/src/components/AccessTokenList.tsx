/** The person's access tokens (never their secrets): when made, last used, expiry; revoke after a confirmation. */
import { useState } from 'react';
import { gql } from '../api.ts';
import { humanError } from '../errors.ts';
import { RevokeAccessTokenDocument, type AccessTokenInfoFragment } from '../graphql.generated.ts';
import { formatDate } from '../format.ts';
import { Dialog, ErrorText } from './Dialog.tsx';

type Token = AccessTokenInfoFragment;

const scopeText = (t: Token) => (t.scopes.includes('WRITE') ? 'Read and write' : 'Read only');

function expiryText(t: Token): string {
  if (!t.expiresAt) return 'Never';
  return `${new Date(t.expiresAt).getTime() < Date.now() ? 'Expired ' : ''}${formatDate(t.expiresAt)}`;
}

function RevokeDialog(props: { token: Token; onClose: () => void; onRevoked: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const revoke = async () => {
    setBusy(true);
    try {
      await gql(RevokeAccessTokenDocument, { id: props.token.id });
      props.onRevoked();
    } catch (err) {
      setError(humanError(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Revoke “${props.token.name}”?`} onClose={props.onClose}>
      <p>Anything using this token (WebDAV, the CLI, scripts) stops working at once. This cannot be undone.</p>
      <ErrorText error={error} />
      <div className="dialog-actions">
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void revoke()}>
          Revoke token
        </button>
      </div>
    </Dialog>
  );
}

export function AccessTokenList(props: { tokens: Token[] | null; onChanged: () => void }) {
  const [revoking, setRevoking] = useState<Token | null>(null);
  if (props.tokens && props.tokens.length === 0) return <p className="empty">No access tokens yet.</p>;
  return (
    <>
      <table className="files tokens" aria-label="Access tokens">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Access</th>
            <th scope="col" className="date">Created</th>
            <th scope="col" className="date">Last used</th>
            <th scope="col" className="date">Expires</th>
            <th scope="col"><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {props.tokens?.map((t) => (
            <tr key={t.id}>
              <td className="name">{t.name}</td>
              <td>{scopeText(t)}</td>
              <td className="date">{formatDate(t.createdAt)}</td>
              <td className="date">{t.lastUsedAt ? formatDate(t.lastUsedAt) : 'Never'}</td>
              <td className="date">{expiryText(t)}</td>
              <td className="actions row">
                <button type="button" className="danger" onClick={() => setRevoking(t)} aria-label={`Revoke ${t.name}`}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {revoking && (
        <RevokeDialog
          token={revoking}
          onClose={() => setRevoking(null)}
          onRevoked={() => {
            setRevoking(null);
            props.onChanged();
          }}
        />
      )}
    </>
  );
}
