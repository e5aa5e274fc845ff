/**
 * The benchmark's output: one table on stdout and the same rows as JSON (bench/results/<date>.json
 * and latest.json), so figures of different runs can be compared by a script.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MachineLoad } from './machine.ts';
import { round } from './stats.ts';

export interface Row {
  /** Stable key for comparing runs, e.g. `upload.stratus.p4`. */
  id: string;
  label: string;
  value: number;
  unit: string;
  /** What the value is measured against in the same run. */
  reference?: { label: string; value: number };
  /** value / reference.value */
  ratio?: number;
  target?: string;
  met?: boolean;
  note?: string;
  samples?: number[];
}

export function compare(row: Omit<Row, 'ratio'>, reference?: { label: string; value: number }): Row {
  if (!reference) return row;
  return { ...row, reference, ratio: round(row.value / reference.value, 2) };
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(Math.abs(n) >= 100 ? 0 : 1));

export const TABLE_HEADER = ['Benchmark', 'Result', 'Compared with (same run)', 'Ratio', 'Target', 'Met', 'Note'];

/** One row's cells, as the table on stdout and the README's (bench/lib/readme-table.ts) show them. */
export function rowCells(r: Row): string[] {
  return [
    r.label,
    `${fmt(r.value)} ${r.unit}`,
    r.reference ? `${r.reference.label} ${fmt(r.reference.value)}` : '',
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`,
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
    r.note ?? '',
  ];
}

export function printTable(rows: Row[]): void {
  const cells = rows.map(rowCells);
  const header = TABLE_HEADER;
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const c of cells) console.log(line(c));
}

/** What a results file holds (bench/results/*.json); bench/readme.ts renders the README from it. */
export interface Results {
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel?: string; memoryGiB: number; node: string; platform: string };
  /** How busy the machine was during the run (bench/lib/machine.ts); absent in runs before 2026-12-05. */
  load?: MachineLoad;
  config: Record<string, unknown>;
  rows: Row[];
}

/**
 * Writes bench/results/<start time>.json, and latest.json when `latest` (a run of every step: the
 * README's table is rendered from latest.json, so a partial BENCH_ONLY run must not replace it).
 */
export function writeResults(dir: string, rows: Row[], config: Record<string, unknown>, startedAt: Date, load: MachineLoad, latest: boolean): string[] {
  mkdirSync(dir, { recursive: true });
  const results: Results = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: round(os.totalmem() / 1024 ** 3), node: process.version, platform: `${os.type()} ${os.release()}` },
    load,
    config,
    rows,
  };
  const body = JSON.stringify(results, null, 2);
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const files = [path.join(dir, `${stamp}.json`), ...(latest ? [path.join(dir, 'latest.json')] : [])];
  for (const file of files) writeFileSync(file, `${body}\n`);
  return files;
}
