/** A tiny history router: the path is the state; links call navigate(). */
import { useEffect, useState } from 'react';

const listeners = new Set<() => void>();

export function navigate(path: string, replace = false): void {
  if (path === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  for (const l of listeners) l();
}

window.addEventListener('popstate', () => {
  for (const l of listeners) l();
});

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return path;
}

export type Route =
  | { name: 'drive'; folderId: string | null }
  | { name: 'trash' }
  | { name: 'settings' }
  | { name: 'share'; token: string; itemId: string | null }
  | { name: 'drop'; token: string }
  | { name: 'links' }
  | { name: 'activity' }
  | { name: 'signin' }
  | { name: 'signup' }
  | { name: 'notFound' };

export function parseRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { name: 'drive', folderId: null };
  if (parts[0] === 'folder' && parts[1]) return { name: 'drive', folderId: parts[1] };
  if (parts[0] === 'trash') return { name: 'trash' };
  if (parts[0] === 'settings') return { name: 'settings' };
  if (parts[0] === 'share' && parts[1]) return { name: 'share', token: parts[1], itemId: parts[2] ?? null };
  if (parts[0] === 'drop' && parts[1] && parts.length === 2) return { name: 'drop', token: parts[1] };
  if (parts[0] === 'signin') return { name: 'signin' };
  if (parts[0] === 'signup') return { name: 'signup' };
  return sectionOf(parts[0]);
}

/** The pages of the main navigation named by one path segment (apart, so parseRoute stays short). */
function sectionOf(segment: string | undefined): Route {
  if (segment === 'links') return { name: 'links' };
  if (segment === 'activity') return { name: 'activity' };
  return { name: 'notFound' };
}
