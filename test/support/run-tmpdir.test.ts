/** The run's temp directory (run-tmpdir.ts): tests write under it, and it goes when the run ends. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import setup from './run-tmpdir.ts';

describe('the test run temp directory', () => {
  it('is where this worker writes temp files', () => {
    expect(path.basename(tmpdir())).toMatch(/^stratus-test-run-/);
  });

  it('is not what the services started by scripts/ get: they outlive the run', () => {
    const seen = execFileSync('bash', ['-c', '. scripts/lib/common.sh && printf %s "${TMPDIR-unset}"'], { encoding: 'utf8' });
    expect(seen).not.toBe(tmpdir());
    expect(seen).toBe(process.env.STRATUS_OUTER_TMPDIR || 'unset');
  });

  it('is removed with what a test left in it when the run ends, and TMPDIR is given back', () => {
    const before = process.env.TMPDIR;
    const teardown = setup();
    const dir = tmpdir();
    expect(dir).not.toBe(before);
    const leftover = mkdtempSync(path.join(dir, 'stratus-dl-'));
    writeFileSync(path.join(leftover, 'copy.bin'), Buffer.alloc(1024));
    teardown();
    expect(existsSync(dir)).toBe(false);
    expect(process.env.TMPDIR).toBe(before);
  });
});
