/**
 * Modes of what Stratus writes under DATA_DIR (SQLite database, local objects and parts, spooled
 * bodies, the development JWT secret) and under a local backend's root: the owner only. The
 * process also runs with umask 0o077 (api/main.ts), but every place that makes a file or folder
 * passes these modes itself, so the rule holds for code run without main.ts (tests, tools) and
 * does not hang on one line in the entry point.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';

/** rw------- */
export const PRIVATE_FILE_MODE = 0o600;
/** rwx------ */
export const PRIVATE_DIR_MODE = 0o700;
/** The umask the server process runs with: nothing for group or others. */
export const PRIVATE_UMASK = 0o077;

/**
 * Makes `dir` (and missing parents) 0700, and closes an existing one made by an older version
 * (0755): what was written into it then becomes unreachable for other local users.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  tighten(dir, PRIVATE_DIR_MODE);
}

/** Creates `file` empty and 0600 when missing, and makes an existing one 0600 (e.g. SQLite's). */
export function ensurePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  tighten(file, PRIVATE_FILE_MODE);
}

/**
 * chmod, except on what another user owns (a volume's root owned by root, EPERM): that is the
 * operator's to set, and what Stratus creates inside it is owner-only anyway.
 */
function tighten(target: string, mode: number): void {
  try {
    chmodSync(target, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  }
}
