/** The activity panel: what happened to the drive and the account, newest first, a page at a time. */
import { useEffect, useState } from 'react';
import { actionLabel, deviceOf, loadActivity, type ActivityEvent } from '../activity.ts';
import { ErrorText } from '../components/Dialog.tsx';
import { Icon } from '../components/Icon.tsx';
import { humanError } from '../errors.ts';
import { formatDate } from '../format.ts';
import { navigate } from '../router.ts';

export function ActivityPage() {
  const [events, setEvents] = useState<ActivityEvent[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = async (after: string | null) => {
    setLoading(true);
    try {
      const page = await loadActivity(after);
      const nodes = page.edges.map((e) => e.node);
      setEvents((shown) => (after && shown ? [...shown, ...nodes] : nodes));
      setNext(page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null);
      setError(null);
    } catch (err) {
      setError(humanError(err));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load(null);
  }, []);

  return (
    <main id="main" className="drive">
      <h1 className="folder-title">Activity</h1>
      <p className="hint">What happened to your files, shares and account, newest first. Addresses are shown by network only.</p>
      <ErrorText error={error} />
      {events && events.length === 0 ? (
        <div className="empty">
          <p>Nothing has happened yet.</p>
        </div>
      ) : (
        <table className="files activity" aria-label="Activity">
          <thead>
            <tr>
              <th scope="col" className="date">When</th>
              <th scope="col">What</th>
              <th scope="col">File</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {events?.map((event) => (
              <tr key={event.id}>
                <td className="date">
                  <time dateTime={event.at}>{formatDate(event.at)}</time>
                </td>
                <td>
                  {actionLabel(event.action)}
                  {event.actorName === null && event.ip && <span className="hint"> · a visitor</span>}
                  {event.detail && <span className="hint"> · {event.detail}</span>}
                </td>
                <td className="name">
                  <FileCell event={event} />
                </td>
                <td className="from" title={event.userAgent ?? undefined}>
                  {event.ip ?? ''}
                  {event.userAgent && <span className="hint"> · {deviceOf(event.userAgent)}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <p>
          <button type="button" disabled={loading} onClick={() => void load(next)}>
            {loading ? 'Loading…' : 'Show older'}
          </button>
        </p>
      )}
    </main>
  );
}

/** The file as it is now (a link to its folder), or the name it had when it is gone. */
function FileCell({ event }: { event: ActivityEvent }) {
  const { file } = event;
  if (file) {
    const folder = file.isFolder ? file.id : file.parentId;
    const to = folder ? `/folder/${encodeURIComponent(folder)}` : '/';
    return (
      <a href={to} onClick={(e) => { e.preventDefault(); navigate(to); }}>
        <Icon kind={file.isFolder ? 'folder' : 'file'} /> <span className="fname">{file.name}</span>
      </a>
    );
  }
  if (!event.fileName) return null;
  return (
    <span className="gone">
      {event.fileName} <span className="hint">(no longer in your drive)</span>
    </span>
  );
}
