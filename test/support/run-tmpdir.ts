/**
 * One temp directory per test run (vitest globalSetup of every config): TMPDIR points into it for
 * the run's workers, which inherit this process's environment, so whatever a test leaves under
 * os.tmpdir() — downloaded copies, generated files of hundreds of MiB, server data dirs, Chromium
 * profiles — goes when the run ends, passed or failed. Without it each full run left ~15 GB in
 * /tmp (1 730 directories after a few runs) and filled the disk of the machine CI runs on.
 * A run that was killed leaves its directory: the next run removes those older than a day.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const PREFIX = 'stratus-test-run-';
const STALE_MS = 24 * 3600 * 1000;

export default function setup(): () => void {
  const base = tmpdir();
  for (const name of readdirSync(base).filter((n) => n.startsWith(PREFIX))) {
    const dir = path.join(base, name);
    try {
      if (Date.now() - statSync(dir).mtimeMs > STALE_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Another run's, removed meanwhile.
    }
  }
  const dir = mkdtempSync(path.join(base, PREFIX));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  // What the services started by scripts/ (which outlive the run) get back (scripts/lib/common.sh).
  process.env.STRATUS_OUTER_TMPDIR = previous ?? '';
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    delete process.env.STRATUS_OUTER_TMPDIR;
    rmSync(dir, { recursive: true, force: true });
  };
}
