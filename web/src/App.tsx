/** The shell: signed-out pages, the public share page, and the drive with its header and upload panel. */
import { lazy, Suspense, useEffect, useState } from 'react';
import { auth, gql, type User } from './api.ts';
import { MeDocument } from './graphql.generated.ts';
import { UploadPanel } from './components/UploadPanel.tsx';
import { formatBytes } from './format.ts';
import { ActivityPage } from './pages/ActivityPage.tsx';
import { AuthPage } from './pages/AuthPage.tsx';
import { DrivePage } from './pages/DrivePage.tsx';
import { LinksPage } from './pages/LinksPage.tsx';
import { SettingsPage } from './pages/SettingsPage.tsx';
import { SharePage } from './pages/SharePage.tsx';
import { TrashPage } from './pages/TrashPage.tsx';
import { navigate, parseRoute, usePath } from './router.ts';
import { uploads } from './uploads.ts';

// The drop page carries Uppy and tus-js-client: a chunk of its own, loaded only on /drop/{token}.
const DropPage = lazy(() => import('./pages/DropPage.tsx'));

function useSignedIn(): [boolean, User | null] {
  const [state, setState] = useState<[boolean, User | null]>([auth.signedIn(), auth.user]);
  useEffect(() => auth.subscribe(() => setState([auth.signedIn(), auth.user])), []);
  return state;
}

export function App() {
  const path = usePath();
  const route = parseRoute(path);
  const [signedIn, user] = useSignedIn();

  useEffect(() => {
    if (!signedIn) return;
    const refreshMe = () => void gql(MeDocument).then((d) => auth.setUser(d.me), () => undefined);
    refreshMe();
    return uploads.onCompleted(refreshMe);
  }, [signedIn]);

  useEffect(() => {
    if (route.name === 'share' || route.name === 'drop') return;
    if (!signedIn && route.name !== 'signin' && route.name !== 'signup') navigate('/signin', true);
    if (signedIn && (route.name === 'signin' || route.name === 'signup')) navigate('/', true);
  }, [signedIn, route.name]);

  useEffect(() => {
    const titles: Record<string, string> = { drive: 'My drive', trash: 'Trash', settings: 'Settings', links: 'Upload links', activity: 'Activity', share: 'Shared file', drop: 'Send files', signin: 'Sign in', signup: 'Create account', notFound: 'Not found' };
    document.title = `${titles[route.name] ?? ''} · Stratus`;
  }, [route.name]);

  if (route.name === 'share') return <SharePage token={route.token} itemId={route.itemId} />;
  if (route.name === 'drop') {
    return (
      <Suspense fallback={<p role="status">Opening…</p>}>
        <DropPage token={route.token} />
      </Suspense>
    );
  }
  if (!signedIn) return <AuthPage mode={route.name === 'signup' ? 'signup' : 'signin'} />;

  // The cookie's login ends on the server (POST /auth/logout), its sockets with it.
  const signOut = () => auth.signOut();

  const link = (to: string, label: string, current: boolean) => (
    <a href={to} aria-current={current ? 'page' : undefined} onClick={(e) => { e.preventDefault(); navigate(to); }}>
      {label}
    </a>
  );

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <a className="brand small" href="/" onClick={(e) => { e.preventDefault(); navigate('/'); }}>
          Stratus
        </a>
        <nav aria-label="Main" className="main-nav">
          {link('/', 'My drive', route.name === 'drive')}
          {link('/trash', 'Trash', route.name === 'trash')}
          {link('/links', 'Upload links', route.name === 'links')}
          {link('/activity', 'Activity', route.name === 'activity')}
          {link('/settings', 'Settings', route.name === 'settings')}
        </nav>
        <span className="spacer" />
        {user && (
          <span className="who">
            <span className="username">{user.username}</span>
            {user.quota && (
              <span className="quota" title="Storage used">
                {formatBytes(user.quota.used)} of {formatBytes(user.quota.limit)} used
              </span>
            )}
          </span>
        )}
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      {route.name === 'drive' && <DrivePage folderId={route.folderId} />}
      {route.name === 'trash' && <TrashPage />}
      {route.name === 'settings' && <SettingsPage />}
      {route.name === 'links' && <LinksPage />}
      {route.name === 'activity' && <ActivityPage />}
      {route.name === 'notFound' && (
        <main id="main" className="drive">
          <h1>Page not found</h1>
          <p>{link('/', 'Go to your drive', false)}</p>
        </main>
      )}
      <UploadPanel />
    </>
  );
}
