/**
 * The README test command's last line ("N passed, N failed", scripts/lib/test-summary.mjs): a file
 * whose beforeAll threw reports its tests as skipped and no failed test; it must still count as
 * failed (the 2026-12-06 run printed "1510 passed, 0 failed" with the pods test's image build
 * failing in its beforeAll).
 */
import { describe, expect, it } from 'vitest';
import { summarize } from './test-summary.mjs';

const file = (status: string, ...tests: string[]) => ({ status, assertionResults: tests.map((s) => ({ status: s })) });
const report = (files: ReturnType<typeof file>[]) => ({
  numPassedTests: files.flatMap((f) => f.assertionResults).filter((a) => a.status === 'passed').length,
  numFailedTests: files.flatMap((f) => f.assertionResults).filter((a) => a.status === 'failed').length,
  testResults: files,
});

describe('test summary', () => {
  it('counts passed and failed tests over every report', () => {
    expect(summarize([report([file('passed', 'passed', 'passed')]), report([file('failed', 'passed', 'failed')])])).toEqual({ passed: 3, failed: 1 });
  });

  it('counts the tests of a file that failed in a hook (reported skipped) as failed', () => {
    expect(summarize([report([file('passed', 'passed'), file('failed', 'skipped', 'skipped', 'skipped')])])).toEqual({ passed: 1, failed: 3 });
  });

  it('counts a file that failed to load, and a missing report, as one failure each', () => {
    expect(summarize([report([file('failed')]), null])).toEqual({ passed: 0, failed: 2 });
  });

  it('does not count skipped tests of a file that passed', () => {
    expect(summarize([report([file('passed', 'passed', 'skipped')])])).toEqual({ passed: 1, failed: 0 });
  });
});
