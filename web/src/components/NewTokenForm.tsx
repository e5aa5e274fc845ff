/** Creates a personal access token and shows its secret this once (only its hash is kept). */
import { useState, type FormEvent } from 'react';
import { gql } from '../api.ts';
import { humanError } from '../errors.ts';
import { CreateAccessTokenDocument, type AccessScope } from '../graphql.generated.ts';
import { CopyField } from './CopyField.tsx';
import { ErrorText } from './Dialog.tsx';

/** A date input's value `offsetDays` from today (the API takes expiries up to a year ahead). */
function dayInput(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

export function NewTokenForm({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [write, setWrite] = useState(false);
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const expiresAt = expires ? new Date(`${expires}T23:59:59`).toISOString() : null;
      const scopes: AccessScope[] = write ? ['READ', 'WRITE'] : ['READ'];
      const data = await gql(CreateAccessTokenDocument, { input: { name: name.trim(), scopes, expiresAt } });
      setSecret({ name: data.createAccessToken.accessToken.name, token: data.createAccessToken.token });
      setName('');
      setExpires('');
      onCreated();
    } catch (err) {
      setError(humanError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="new-token-title" className="settings-section">
      <h2 id="new-token-title">New access token</h2>
      <form onSubmit={(e) => void create(e)} className="token-form" aria-label="New access token">
        <label>
          Name
          <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Laptop WebDAV" />
        </label>
        <fieldset>
          <legend>Access</legend>
          <label className="inline">
            <input type="radio" name="scope" checked={!write} onChange={() => setWrite(false)} /> Read only
          </label>
          <label className="inline">
            <input type="radio" name="scope" checked={write} onChange={() => setWrite(true)} /> Read and write
          </label>
        </fieldset>
        <label>
          Expires on (optional)
          <input type="date" min={dayInput(1)} max={dayInput(365)} value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
        <div className="dialog-actions">
          <button type="submit" className="primary" disabled={busy || !name.trim()}>
            Create token
          </button>
        </div>
      </form>
      <ErrorText error={error} />
      {secret && (
        <div className="token-secret" role="status">
          <p>
            <strong>Copy the token “{secret.name}” now: it will not be shown again.</strong>
          </p>
          <CopyField id="new-token-secret" label="New token" value={secret.token} testId="token-secret" />
          <button type="button" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
    </section>
  );
}
