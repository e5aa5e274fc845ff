// The last line of the README's test command: "N passed, N failed" over the vitest JSON reports.
// A file can fail with no failed test in it: it failed to load (no tests at all), or a beforeAll
// hook threw and vitest reports its tests as skipped. Those tests did not pass, so they count as
// failed (at least one per such file): a summary must never say "0 failed" of a run that failed.
import { readFileSync } from 'node:fs';

/** @param {Array<{ numPassedTests: number, numFailedTests: number, testResults: Array<{ status: string, assertionResults: Array<{ status: string }> }> } | null>} reports null: a report that is missing or unreadable */
export function summarize(reports) {
  let passed = 0;
  let failed = 0;
  for (const report of reports) {
    if (!report) {
      failed += 1;
      continue;
    }
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    for (const file of report.testResults) {
      if (file.status !== 'failed' || file.assertionResults.some((a) => a.status === 'failed')) continue;
      failed += Math.max(1, file.assertionResults.filter((a) => a.status !== 'passed').length);
    }
  }
  return { passed, failed };
}

function read(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

// node scripts/lib/test-summary.mjs EXTRA_FAILURES STARTED_EPOCH_S REPORT...
if (import.meta.url === `file://${process.argv[1]}`) {
  const [extra = '0', started = '0', ...files] = process.argv.slice(2);
  const { passed, failed } = summarize(files.map(read));
  const total = failed + Number(extra);
  console.log(`(${Math.round(Date.now() / 1000 - Number(started))} s)`);
  console.log(`${passed} passed, ${total} failed`);
  process.exit(total > 0 ? 1 : 0);
}
