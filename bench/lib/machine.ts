/**
 * How busy the machine was while the bench ran, from /proc/stat deltas (proc(5): the `cpu` line
 * counts, in USER_HZ ticks summed over all CPUs, the time spent in user, nice, system, idle,
 * iowait, irq, softirq, steal, …). A figure measured on a machine that other work keeps busy is
 * not the figure of a quiet one, so each run records:
 * - busyShare: the share of all CPUs' time over the run that was not idle (idle + iowait): the
 *   bench, its servers, the services it drives (RGW, OSD, MariaDB, Redis) and anything else;
 * - benchShare: the share spent by the bench process and its descendants (the Stratus and tus
 *   servers, the CLI, rclone…): this process's own and reaped children's time, plus the
 *   descendants still running at the end (/proc/<pid>/stat utime+stime+cutime+cstime);
 * - otherShare = busyShare − benchShare: everything else, the shared services included (they work
 *   for the bench too, but other clients may use them as well, so they cannot be attributed).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

export interface CpuTimes {
  /** All ticks of all CPUs. */
  total: number;
  /** idle + iowait ticks. */
  idle: number;
}

/** The aggregate `cpu` line of /proc/stat. */
export function parseCpuLine(stat: string): CpuTimes {
  const line = stat.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('no aggregate cpu line in /proc/stat');
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already
  // counted in user (proc(5)), so only the first eight fields add up to the total.
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { total, idle: (f[3] ?? 0) + (f[4] ?? 0) };
}

export function readCpuTimes(): CpuTimes {
  return parseCpuLine(readFileSync('/proc/stat', 'utf8'));
}

interface ProcTimes {
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks. */
  ticks: number;
}

/** ppid and the process's own plus its reaped children's CPU ticks, from a /proc/<pid>/stat line. */
export function parseProcTimes(line: string): ProcTimes {
  const f = line.slice(line.lastIndexOf(')') + 2).split(' ').map(Number);
  // After comm: f[0] = state (field 3), f[1] = ppid (4), utime..cstime are fields 14–17.
  return { ppid: f[1] ?? 0, ticks: (f[11] ?? 0) + (f[12] ?? 0) + (f[13] ?? 0) + (f[14] ?? 0) };
}

/** CPU ticks of `root` and of every process below it alive now (reaped ones are in cutime/cstime). */
export function treeTicks(root: number): number {
  const procs = new Map<number, ProcTimes>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      procs.set(Number(name), parseProcTimes(readFileSync(`/proc/${name}/stat`, 'utf8')));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return sumTree(procs, root);
}

export function sumTree(procs: Map<number, ProcTimes>, root: number): number {
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  let ticks = 0;
  const stack = [root];
  for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
    ticks += procs.get(pid)?.ticks ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

export interface MachineLoad {
  busyShare: number;
  benchShare: number;
  otherShare: number;
  cpus: number;
  method: string;
}

export const LOAD_METHOD =
  '/proc/stat deltas over the run: busyShare = non-idle share of all CPUs; benchShare = the bench process and its descendants (servers, CLI); otherShare = the rest, shared services (RGW, OSD, MariaDB, Redis) included';

/** Starts measuring; `stop()` gives the shares (0..1) over the time between. */
export function measureMachine(root = process.pid): { stop(): MachineLoad } {
  const start = readCpuTimes();
  const benchStart = treeTicks(root);
  return {
    stop() {
      const end = readCpuTimes();
      return loadBetween(start, end, treeTicks(root) - benchStart);
    },
  };
}

/**
 * The shares from two /proc/stat samples and the bench's ticks in between. /proc/stat counts in
 * USER_HZ and /proc/<pid>/stat in clock ticks, both sysconf(_SC_CLK_TCK) on Linux, so they divide.
 */
export function loadBetween(start: CpuTimes, end: CpuTimes, benchTicks: number): MachineLoad {
  const total = end.total - start.total;
  const busy = total - (end.idle - start.idle);
  const share = (x: number) => (total > 0 ? Math.round((1000 * x) / total) / 1000 : 0);
  const busyShare = share(busy);
  const benchShare = Math.min(busyShare, share(benchTicks));
  return { busyShare, benchShare, otherShare: Math.round(1000 * (busyShare - benchShare)) / 1000, cpus: os.cpus().length, method: LOAD_METHOD };
}
