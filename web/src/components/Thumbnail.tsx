/** A file's thumbnail in a list (lazy-loaded: only rows scrolled into view fetch theirs), else its icon. */
import { useState } from 'react';
import { Icon } from './Icon.tsx';

export function Thumbnail({ url, large = false }: { url: string | null | undefined; large?: boolean }) {
  // A thumbnail that fails to load (its file just went, a signature expired) falls back to the icon.
  const [failed, setFailed] = useState<string | null>(null);
  if (!url || failed === url) return <Icon kind="file" />;
  return <img className={large ? 'thumb thumb-large' : 'thumb'} src={url} alt="" loading="lazy" decoding="async" onError={() => setFailed(url)} />;
}
