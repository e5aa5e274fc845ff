/**
 * Reads litmus's report. Each suite prints
 *   -> running `basic':
 *    0. init.................. pass
 *    8. delete_fragment....... WARNING: DELETE removed collection resource with ...
 *       ...................... pass (with 1 warning)
 *    3. put_get............... FAIL (PUT of `/dav/litmus/litmus/res' failed: 409 Conflict)
 *   <- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%
 * and a test whose prerequisite failed is `SKIPPED`.
 */

/**
 * The part of debug.log that a test wrote. The suites append to one debug.log, each starting with
 * `******* Running test 0: init ********`, and every test with its own such line.
 */
export function debugOf(debugLog: string, test: LitmusTest, maxChars = 8000): string {
  const suites = debugLog.split(/^(?=\*{7} Running test 0: )/m).filter((part) => part.startsWith('*******'));
  const log = suites[test.run] ?? '';
  const from = log.indexOf(`******* Running test ${test.index}: ${test.name} `);
  if (from < 0) return '(this test is not in debug.log)';
  const to = log.indexOf('******* Running test ', from + 1);
  const lines = log.slice(from, to < 0 ? undefined : to).replace(/\r/g, '').split('\n');
  // neon prints every response header twice ("[hdr] X: v", then "Header Name: [x], Value: [v]").
  return lines.filter((line) => !line.startsWith('Header Name: ')).join('\n').slice(0, maxChars);
}

export interface LitmusTest {
  suite: string;
  /** Which suite of the run (0 for the first): its part of debug.log. */
  run: number;
  /** Its number in the suite (names repeat: `propget` runs after each change). */
  index: number;
  name: string;
  outcome: 'pass' | 'fail' | 'skipped' | 'unknown';
  /** The rest of its line: the reason of a failure, the warning count of a pass. */
  detail: string;
}

export interface LitmusReport {
  tests: LitmusTest[];
  /** Suites that printed their summary line (a suite that aborted did not). */
  summarized: string[];
}

const SUITE = /^-> running `([^']+)':/;
const TEST = /^\s*(\d+)\.\s+(\w+)\.*\s*(.*)$/;
const CONTINUATION = /^\s+\.{3,}\s*(.*)$/;
const SUMMARY = /^<- summary for `([^']+)'/;

function outcomeOf(text: string): LitmusTest['outcome'] | undefined {
  if (text.startsWith('pass')) return 'pass';
  if (text.startsWith('FAIL')) return 'fail';
  if (text.startsWith('SKIPPED')) return 'skipped';
  return undefined;
}

export function parseLitmus(output: string): LitmusReport {
  const tests: LitmusTest[] = [];
  const summarized: string[] = [];
  let suite = '';
  let run = -1;
  let open: LitmusTest | undefined;
  for (const raw of output.split('\n')) {
    // litmus prints a test's name, then "\r" and the name again with its outcome: keep the last.
    const line = raw.slice(raw.lastIndexOf('\r') + 1);
    const started = SUITE.exec(line);
    if (started) {
      suite = started[1] ?? '';
      run += 1;
    }
    const summary = SUMMARY.exec(line);
    if (summary) summarized.push(summary[1] ?? '');
    const continued = open && CONTINUATION.exec(line);
    if (open && continued) {
      settle(open, continued[1] ?? '');
      continue;
    }
    const test = TEST.exec(line);
    if (!test) continue;
    open = { suite, run, index: Number(test[1]), name: test[2] ?? '', outcome: 'unknown', detail: '' };
    tests.push(open);
    settle(open, test[3] ?? '');
  }
  return { tests, summarized };
}

/** A WARNING line leaves the outcome to its continuation line ("....... pass (with 1 warning)"). */
function settle(test: LitmusTest, text: string): void {
  const outcome = outcomeOf(text.trim());
  if (outcome) {
    test.outcome = outcome;
    test.detail = [test.detail, text.trim()].filter(Boolean).join(' | ');
  } else if (text.trim()) {
    test.detail = [test.detail, text.trim()].filter(Boolean).join(' | ');
  }
}
