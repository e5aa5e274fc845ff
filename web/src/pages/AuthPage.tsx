/** Sign in, and sign up with the 6-digit code sent by e-mail. */
import { useState, type FormEvent } from 'react';
import { auth, publicGql } from '../api.ts';
import { ErrorText } from '../components/Dialog.tsx';
import { humanError } from '../errors.ts';
import { LoginDocument, RegisterDocument, RequestEmailCodeDocument } from '../graphql.generated.ts';
import { navigate } from '../router.ts';

export function AuthPage({ mode }: { mode: 'signin' | 'signup' }) {
  return (
    <main className="auth" id="main">
      <h1 className="brand">Stratus</h1>
      <p className="tagline">Your files, everywhere.</p>
      <nav className="tabs" aria-label="Account">
        <a href="/signin" aria-current={mode === 'signin' ? 'page' : undefined} onClick={(e) => { e.preventDefault(); navigate('/signin'); }}>
          Sign in
        </a>
        <a href="/signup" aria-current={mode === 'signup' ? 'page' : undefined} onClick={(e) => { e.preventDefault(); navigate('/signup'); }}>
          Create account
        </a>
      </nav>
      {mode === 'signin' ? <SignIn /> : <SignUp />}
    </main>
  );
}

function SignIn() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const data = await publicGql(LoginDocument, { username, password });
      auth.set(data.login);
      navigate('/', true);
    } catch (err) {
      setError(humanError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-label="Sign in">
      <label>
        Username or e-mail
        <input name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
      </label>
      <ErrorText error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

function SignUp() {
  const [email, setEmail] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const sendCode = async () => {
    setBusy(true);
    setError(null);
    try {
      await publicGql(RequestEmailCodeDocument, { email });
      setSent(true);
    } catch (err) {
      setError(humanError(err));
    } finally {
      setBusy(false);
    }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!sent) return sendCode();
    setBusy(true);
    setError(null);
    try {
      const data = await publicGql(RegisterDocument, {
        input: { email, username, password, code: code.trim() },
      });
      auth.set(data.register);
      navigate('/', true);
    } catch (err) {
      setError(humanError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-label="Create account">
      <label>
        E-mail
        <input name="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} readOnly={sent} />
      </label>
      {!sent ? (
        <>
          <p className="hint">We will send a 6-digit code to this address.</p>
          <ErrorText error={error} />
          <button type="submit" className="primary" disabled={busy || !email}>
            {busy ? 'Sending…' : 'Send code'}
          </button>
        </>
      ) : (
        <>
          <p className="hint" role="status">
            A code was sent to {email}.{' '}
            <button type="button" className="link" onClick={() => { setSent(false); setCode(''); }}>
              Use another address
            </button>
          </p>
          <label>
            Code from the e-mail
            <input name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required value={code} onChange={(e) => setCode(e.target.value)} />
          </label>
          <label>
            Username
            <input name="username" autoComplete="username" required minLength={3} maxLength={32} pattern="[A-Za-z0-9_.\-]{3,32}" value={username} onChange={(e) => setUsername(e.target.value)} aria-describedby="username-hint" />
          </label>
          <p className="hint" id="username-hint">3 to 32 letters, digits, “_”, “.” or “-”.</p>
          <label>
            Password
            <input name="password" type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} aria-describedby="password-hint" />
          </label>
          <p className="hint" id="password-hint">At least 10 characters, with a letter and a digit or symbol; not containing your name.</p>
          <ErrorText error={error} />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create account'}
          </button>
        </>
      )}
    </form>
  );
}
