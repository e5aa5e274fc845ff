/** Settings: personal access tokens (create, last use, revoke) and the WebDAV address to connect with. */
import { useEffect, useState } from 'react';
import { gql } from '../api.ts';
import { AccessTokenList } from '../components/AccessTokenList.tsx';
import { CopyField } from '../components/CopyField.tsx';
import { ErrorText } from '../components/Dialog.tsx';
import { NewTokenForm } from '../components/NewTokenForm.tsx';
import { humanError } from '../errors.ts';
import { AccessTokensDocument, type AccessTokenInfoFragment } from '../graphql.generated.ts';

export function SettingsPage() {
  const [tokens, setTokens] = useState<AccessTokenInfoFragment[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = async () => {
    try {
      setTokens((await gql(AccessTokensDocument)).accessTokens);
      setError(null);
    } catch (err) {
      setError(humanError(err));
    }
  };
  useEffect(() => {
    void reload();
  }, []);
  return (
    <main id="main" className="drive settings">
      <h1 className="folder-title">Settings</h1>
      <section aria-labelledby="tokens-title" className="settings-section">
        <h2 id="tokens-title">Access tokens</h2>
        <p className="hint">A token lets a device or a script use your drive without your password: WebDAV, the command line, or the API.</p>
        <ErrorText error={error} />
        <AccessTokenList tokens={tokens} onChanged={() => void reload()} />
      </section>
      <NewTokenForm onCreated={() => void reload()} />
      <section aria-labelledby="webdav-title" className="settings-section">
        <h2 id="webdav-title">WebDAV</h2>
        <CopyField id="webdav-url" label="WebDAV address" value={`${location.origin}/dav/`} testId="webdav-url" />
        <p className="hint">Connect with your username (or e-mail) as the user name and an access token as the password.</p>
      </section>
    </main>
  );
}
