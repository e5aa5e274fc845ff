/**
 * CPU seconds (user + system) spent by a process, for "server CPU seconds per GiB" figures:
 * this process through process.cpuUsage(), any other process (a child server, a peer) through
 * /proc/<pid>/stat, whose utime and stime (fields 14 and 15, proc(5)) count clock ticks of
 * sysconf(_SC_CLK_TCK). Figures are wall-clock independent, so they stay fair on a busy machine.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** sysconf(_SC_CLK_TCK): 100 on every Linux Node runs on, asked once through getconf anyway. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      ticksPerSecond = Number.isFinite(n) && n > 0 ? n : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * utime + stime of a process from its /proc/<pid>/stat line, in seconds. The second field (comm)
 * is in parentheses and may itself hold spaces or parentheses, so fields are counted after the
 * LAST ')': the field after it is field 3 (state), utime is field 14, stime field 15.
 */
export function parseProcStat(line: string, ticks = clockTicks()): number {
  const { user, system } = procTimes(line, ticks);
  return user + system;
}

/** utime and stime of a process from its /proc/<pid>/stat line, apart, in seconds (see parseProcStat). */
export function procTimes(line: string, ticks = clockTicks()): { user: number; system: number } {
  const after = line.slice(line.lastIndexOf(')') + 2).split(' ');
  const utime = Number(after[14 - 3]);
  const stime = Number(after[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc stat line: ${line.slice(0, 80)}`);
  return { user: utime / ticks, system: stime / ticks };
}

/** CPU seconds this process has used so far (all its threads, libuv's pool included). */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds process `pid` has used so far (all its threads); `process.pid` reads our own. */
export function cpuSecondsOf(pid: number): number {
  if (pid === process.pid) return ownCpuSeconds();
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

export interface CpuMeter {
  /** CPU seconds used since the meter started (it keeps running; call again for a later figure). */
  stop(): number;
}

/**
 * Starts counting the CPU seconds of `pid` (default: this process):
 * `const m = measureCpu(child.pid); await work(); const s = m.stop();`.
 */
export function measureCpu(pid: number = process.pid): CpuMeter {
  const start = cpuSecondsOf(pid);
  return { stop: () => cpuSecondsOf(pid) - start };
}

/**
 * Waits until process `pid` is idle: less than `busy` of a core over a `windowMs` window (at most
 * `maxMs` in all). For a measurement that must not pay for the background work the one before it
 * left (a server's thumbnail jobs run one at a time, after the uploads that queued them answered).
 */
export async function settle(pid: number, { windowMs = 300, busy = 0.05, maxMs = 60_000 } = {}): Promise<void> {
  const until = Date.now() + maxMs;
  while (Date.now() < until) {
    const meter = measureCpu(pid);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    if (meter.stop() < (busy * windowMs) / 1000) return;
  }
}

/** Seconds per GiB, the figure the README compares (the issue: tus spends ~8.9 s/GiB here). */
export function cpuSecondsPerGiB(seconds: number, bytes: number): number {
  return seconds / (bytes / 1024 ** 3);
}
