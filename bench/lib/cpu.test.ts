import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuSecondsOf, measureCpu, parseProcStat } from './cpu.ts';

// Both spinners count CPU time, not wall time, so a busy machine only makes them slower.
const SPIN = 'const s=process.cpuUsage();let x=0;while((process.cpuUsage(s).user+process.cpuUsage(s).system)<MS*1000)x+=Math.sqrt(x+1);';

describe('bench CPU meter', () => {
  it('reads utime+stime after the last parenthesis of comm, which may hold spaces and parens', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const line = '4242 (node (x) y) S 1 1 1 0 -1 4194304 10 0 0 0 250 50 0 0 20 0 1 0';
    expect(parseProcStat(line, 100)).toBeCloseTo(3, 6);
  });

  it('counts this process while it computes', () => {
    const meter = measureCpu();
    new Function(SPIN.replaceAll('MS', '250'))();
    const used = meter.stop();
    expect(used).toBeGreaterThanOrEqual(0.25);
    expect(used).toBeLessThan(1);
  });

  it('counts another process by pid, its work and not its sleep', async () => {
    const code = `${SPIN.replaceAll('MS', '300')}process.stdout.write('done');setTimeout(()=>{},500)`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = child.pid as number;
    const meter = measureCpu(pid);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const atDone = meter.stop();
    await new Promise((r) => setTimeout(r, 300));
    const afterSleep = meter.stop();
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill();
    await exited;
    // 300 ms of spinning plus Node's start-up (also inside the window), under a tick of rounding.
    expect(atDone).toBeGreaterThanOrEqual(0.28);
    expect(atDone).toBeLessThan(1.5);
    // Sleeping costs nothing: at most a tick or two of timer work.
    expect(afterSleep - atDone).toBeLessThan(0.05);
    expect(cpuSecondsOf(process.pid)).toBeGreaterThan(0);
  });
});
