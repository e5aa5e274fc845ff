/** The uploads under way: a total bar and one bar per file, with pause, resume and cancel. */
import { useEffect, useState } from 'react';
import { formatBytes } from '../format.ts';
import { percentOf, shownBytes, uploads, type Phase, type UploadItem } from '../uploads.ts';

const LABEL: Record<Phase, string> = {
  queued: 'Waiting',
  hashing: 'Checking the file',
  checking: 'Preparing',
  uploading: 'Uploading',
  pausing: 'Pausing',
  paused: 'Paused',
  completing: 'Finishing',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function useUploads(): UploadItem[] {
  const [items, setItems] = useState(uploads.items);
  useEffect(() => uploads.subscribe(() => setItems(uploads.items)), []);
  return items;
}

function Bar({ value, label }: { value: number; label: string }) {
  return (
    <div className="bar" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={value}>
      <div className="fill" style={{ width: `${value}%` }} />
    </div>
  );
}

export function UploadPanel() {
  const items = useUploads();
  const [collapsed, setCollapsed] = useState(false);
  if (items.length === 0) return null;
  const counted = items.filter((i) => i.phase !== 'cancelled' && i.phase !== 'failed');
  const total = counted.reduce((a, i) => a + i.size, 0);
  const done = counted.reduce((a, i) => a + shownBytes(i), 0);
  const totalPercent = percentOf(done, total);
  const finished = counted.filter((i) => i.phase === 'done').length;
  const working = items.some((i) => !['done', 'cancelled', 'failed', 'paused'].includes(i.phase));

  return (
    <section className="uploads" aria-labelledby="uploads-title">
      <div className="uploads-head">
        <h2 id="uploads-title">
          Uploads · {finished} of {counted.length} done
        </h2>
        <button type="button" className="icon" aria-expanded={!collapsed} aria-controls="upload-list" aria-label={collapsed ? 'Show uploads' : 'Hide uploads'} onClick={() => setCollapsed(!collapsed)}>
          {collapsed ? '▴' : '▾'}
        </button>
      </div>
      <Bar value={totalPercent} label="Total upload progress" />
      <p className="total-line" aria-live="polite">
        {totalPercent} % · {formatBytes(done)} of {formatBytes(total)}
      </p>
      {!collapsed && (
        <ul id="upload-list" className="upload-list">
          {items.map((item) => <UploadRow key={item.key} item={item} />)}
        </ul>
      )}
      {!working && (
        <button type="button" className="link" onClick={() => uploads.clearFinished()}>
          Clear finished
        </button>
      )}
    </section>
  );
}

function UploadRow({ item }: { item: UploadItem }) {
  const bytes = shownBytes(item);
  const pct = item.phase === 'hashing' ? percentOf(item.hashedBytes, item.size) : percentOf(bytes, item.size);
  return (
    <li className={`upload-item phase-${item.phase}`} data-testid="upload-item">
      <div className="u-name" title={[...item.folders, item.name].join('/')}>
        {item.folders.length > 0 && <span className="hint">{item.folders.join('/')}/</span>}
        {item.name}
      </div>
      <Bar value={item.phase === 'hashing' ? 0 : pct} label={`Upload progress of ${item.name}`} />
      <UploadStatus item={item} pct={pct} bytes={bytes} />
      {item.error && (
        <p className="error" role="alert">
          {item.error}
        </p>
      )}
      <UploadActions item={item} />
    </li>
  );
}

function UploadStatus({ item, pct, bytes }: { item: UploadItem; pct: number; bytes: number }) {
  return (
    <div className="u-status">
      <span data-testid="upload-status">
        {LABEL[item.phase]}
        {item.phase === 'hashing' && ` ${pct} %`}
        {item.phase === 'done' && item.instant && ' · instant (already stored)'}
        {item.phase === 'done' && item.resumed && !item.instant && ' · resumed'}
      </span>
      {item.phase !== 'hashing' && item.phase !== 'done' && item.phase !== 'cancelled' && (
        <span>
          {' '}· {pct} % · {formatBytes(bytes)} of {formatBytes(item.size)}
        </span>
      )}
      {item.phase === 'done' && <span> · {formatBytes(item.size)}</span>}
    </div>
  );
}

function UploadActions({ item }: { item: UploadItem }) {
  return (
    <div className="row">
      {(item.phase === 'uploading' || item.phase === 'queued') && (
        <button type="button" onClick={() => void uploads.pause(item.key)} aria-label={`Pause ${item.name}`}>
          Pause
        </button>
      )}
      {(item.phase === 'paused' || item.phase === 'failed') && (
        <button type="button" onClick={() => void uploads.resume(item.key)} aria-label={`Resume ${item.name}`}>
          {item.phase === 'failed' ? 'Retry' : 'Resume'}
        </button>
      )}
      {!['done', 'cancelled', 'completing'].includes(item.phase) && (
        <button type="button" className="danger" onClick={() => void uploads.cancel(item.key)} aria-label={`Cancel ${item.name}`}>
          Cancel
        </button>
      )}
    </div>
  );
}
