/**
 * The `litmus` WebDAV compliance suite (Debian's package, written by neon's author, not by us)
 * against /dav/ on the real stack (issue 19, item 3): its `basic`, `copymove`, `props` and `locks`
 * suites must pass completely — every test `pass` (warnings allowed), none FAIL or SKIPPED.
 * litmus authenticates with HTTP Basic: the person's name and a personal access token. It works
 * in `litmus/` below the URL it is given (each suite's `begin` deletes and re-creates it), so the
 * URL is a collection made first: /dav/litmus/. Its request/response trace is debug.log in its cwd;
 * a failure prints the tail of it.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/db.ts';
import { mkcol, requireClient, runClient, startDavApp, type DavApp } from './dav-harness.ts';
import { debugOf, parseLitmus, type LitmusTest } from './litmus-output.ts';

const SUITES = ['basic', 'copymove', 'props', 'locks'] as const;

let app: DavApp;
let cwd: string;

beforeAll(async () => {
  requireClient('litmus');
  app = await startDavApp();
  cwd = tempDir('stratus-litmus-');
  expect(await mkcol(app, 'litmus/')).toBe(201);
});

afterAll(async () => {
  await app?.t.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

const describeTest = (t: LitmusTest) => `${t.suite}/${t.name}: ${t.outcome}${t.detail ? ` (${t.detail})` : ''}`;

/** Each failing test's requests and answers, from litmus's debug.log. */
function debugOfFailing(failing: readonly LitmusTest[]): string {
  let log: string;
  try {
    log = readFileSync(path.join(cwd, 'debug.log'), 'utf8');
  } catch {
    return '(no debug.log)';
  }
  return failing.map((t) => `--- ${describeTest(t)} ---\n${debugOf(log, t)}`).join('\n');
}

describe('litmus', () => {
  it('passes every test of basic, copymove, props and locks', { timeout: 300_000 }, async () => {
    const litmus = requireClient('litmus');
    // -k: every suite runs even when an earlier one failed, so one run names every failing test.
    const run = await runClient(litmus, ['-k', `${app.davUrl}litmus/`, app.person.name, app.person.pat], { cwd, env: { TESTS: SUITES.join(' ') } });
    const report = parseLitmus(run.stdout);
    const failing = report.tests.filter((t) => t.outcome !== 'pass');
    if (failing.length > 0 || report.summarized.length !== SUITES.length) {
      console.error(`litmus output:\n${run.stdout.replace(/\r/g, '\n')}\n${run.stderr}\n=== debug.log of the failing tests ===\n${debugOfFailing(failing)}`);
    }
    expect(failing.map(describeTest)).toEqual([]);
    // Each suite ran to its summary (a suite that aborts, e.g. at `init`, prints none).
    expect(report.summarized).toEqual([...SUITES]);
    for (const suite of SUITES) expect(report.tests.filter((t) => t.suite === suite).length, suite).toBeGreaterThan(3);
    expect(run.code).toBe(0);
  });
});
