import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadBetween, parseCpuLine, parseProcTimes, sumTree } from './machine.ts';
import { currentBlock, renderTable, withTable } from './readme-table.ts';
import type { Results } from './report.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

const sample: Results = {
  startedAt: '2026-12-05T10:00:00.000Z',
  finishedAt: '2026-12-05T10:20:00.000Z',
  machine: { cpus: 2, cpuModel: 'Test CPU', memoryGiB: 8, node: 'v20.0.0', platform: 'Linux' },
  load: { busyShare: 0.93, benchShare: 0.61, otherShare: 0.32, cpus: 2, method: 'm' },
  config: { reps: 3, sizeMiB: 1024, steps: ['upload'] },
  rows: [{ id: 'a', label: 'upload | odd', value: 88.4, unit: 'MiB/s', reference: { label: 'tus', value: 70 }, ratio: 1.26, target: '≥1.1×', met: true, note: 'n' }],
};

describe('README Benchmarks table', () => {
  it('is exactly what bench/results/latest.json renders (npm run bench:readme after each full run)', () => {
    const latest = JSON.parse(read('bench/results/latest.json')) as Results;
    expect(currentBlock(read('README.md'))).toBe(renderTable(latest));
  });

  it('names the run, its file and the machine busy share, one row per result, pipes escaped', () => {
    const block = renderTable(sample);
    expect(block).toContain('2026-12-05 10:00 UTC');
    expect(block).toContain('bench/results/2026-12-05T10-00-00-000Z.json');
    expect(block).toContain('**93 %** of all 2 CPUs');
    expect(block).toContain('servers 61 %, every other process 32 %');
    expect(block).toContain('| upload \\| odd | 88.4 MiB/s | tus 70 | 1.26× | ≥1.1× | yes | n |');
  });

  it('replaces only the block between the markers, and refuses a README without them', () => {
    const readme = `intro\n${renderTable({ ...sample, rows: [] })}\noutro\n`;
    const next = withTable(readme, sample);
    expect(next.startsWith('intro\n')).toBe(true);
    expect(next.endsWith('\noutro\n')).toBe(true);
    expect(currentBlock(next)).toBe(renderTable(sample));
    expect(() => withTable('no markers', sample)).toThrow(/bench:start/);
  });
});

describe('machine busy share', () => {
  it('counts idle and iowait as idle, and only the first eight fields (guest is inside user)', () => {
    const t = parseCpuLine('cpu  100 5 50 800 20 3 2 0 40 0\ncpu0 1 2 3 4\n');
    expect(t).toEqual({ total: 980, idle: 820 });
  });

  it('splits the busy share into the bench and the rest', () => {
    const load = loadBetween({ total: 1000, idle: 500 }, { total: 2000, idle: 700 }, 300);
    expect([load.busyShare, load.benchShare, load.otherShare]).toEqual([0.8, 0.3, 0.5]);
  });

  it('sums a process tree: own, reaped children (cutime/cstime) and live descendants, not strangers', () => {
    const stat = (pid: number, ppid: number, u: number, s: number, cu: number, cs: number) =>
      `${pid} (a (b) c) S ${ppid} 1 1 0 -1 0 0 0 0 0 ${u} ${s} ${cu} ${cs} 20 0 1 0`;
    expect(parseProcTimes(stat(7, 3, 10, 5, 2, 1))).toEqual({ ppid: 3, ticks: 18 });
    const procs = new Map([
      [10, parseProcTimes(stat(10, 1, 100, 10, 50, 5))],
      [11, parseProcTimes(stat(11, 10, 20, 2, 0, 0))],
      [12, parseProcTimes(stat(12, 11, 3, 1, 0, 0))],
      [13, parseProcTimes(stat(13, 1, 999, 999, 0, 0))],
    ]);
    expect(sumTree(procs, 10)).toBe(165 + 22 + 4);
  });
});
