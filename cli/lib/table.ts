/** Plain-text tables for people (scripts use --json): columns padded to their widest cell. */
import type { RemoteItem } from './remote-path.ts';
import { formatBytes } from './progress-bar.ts';

export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)];
}

/** "2026-11-29 13:14" in the local time zone. */
function when(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function itemTable(items: RemoteItem[]): string[] {
  return table(
    ['TYPE', 'SIZE', 'MODIFIED', 'ID', 'NAME'],
    items.map((i) => [i.isFolder ? 'dir' : 'file', i.isFolder ? '-' : formatBytes(i.size), when(i.updatedAt), i.id, i.isFolder ? `${i.name}/` : i.name]),
  );
}
