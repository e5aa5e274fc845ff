/**
 * The drive header's search box: searches the whole drive (not the trash) as the person types
 * (after a short pause), lists the best matches with the folder each sits in, and opens a folder
 * or a file's folder when clicked. Escape or the clear button closes the results.
 */
import { useEffect, useState } from 'react';
import { humanError } from '../errors.ts';
import { formatBytes, formatDate } from '../format.ts';
import { navigate } from '../router.ts';
import '../search.css';
import { pathOf, searchDrive, searchable, type SearchHit, type SearchResults } from '../search.ts';

const PAUSE_MS = 250;

export function SearchBox() {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<SearchResults | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const q = query.trim();
    if (!searchable(q)) {
      setResults(null);
      setError(null);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      setBusy(true);
      searchDrive(q)
        .then((r) => current && (setResults(r), setError(null)))
        .catch((err: unknown) => current && (setResults(null), setError(humanError(err))))
        .finally(() => current && setBusy(false));
    }, PAUSE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [query]);

  const more = async () => {
    if (!results?.pageInfo.endCursor) return;
    try {
      const next = await searchDrive(query.trim(), results.pageInfo.endCursor);
      setResults({ ...next, edges: [...results.edges, ...next.edges] });
    } catch (err) {
      setError(humanError(err));
    }
  };

  const open = (hit: SearchHit) => {
    setQuery('');
    navigate(hit.isFolder ? `/folder/${hit.id}` : hit.parentId && hit.ancestors.length > 1 ? `/folder/${hit.parentId}` : '/');
  };

  return (
    <div className="search">
      <form role="search" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor="drive-search" className="sr-only">
          Search my drive
        </label>
        <input
          id="drive-search"
          type="search"
          placeholder="Search my drive"
          maxLength={255}
          autoComplete="off"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => e.key === 'Escape' && setQuery('')}
        />
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {results && (
        <section className="search-results" aria-label="Search results" aria-busy={busy}>
          <p className="hint" role="status">
            {results.totalCount === 0 ? `Nothing named like “${query.trim()}”` : `${results.totalCount} ${results.totalCount === 1 ? 'match' : 'matches'}`}
          </p>
          <ul>
            {results.edges.map(({ node }) => (
              <li key={node.id}>
                <a href={node.isFolder ? `/folder/${node.id}` : '#'} onClick={(e) => { e.preventDefault(); open(node); }}>
                  <span className="search-name">{node.name}</span>
                </a>
                <span className="search-path">{pathOf(node)}</span>
                <span className="search-meta">{node.isFolder ? 'Folder' : formatBytes(node.size)} · {formatDate(node.updatedAt)}</span>
              </li>
            ))}
          </ul>
          {results.pageInfo.hasNextPage && (
            <button type="button" onClick={() => void more()}>
              More results
            </button>
          )}
        </section>
      )}
    </div>
  );
}
