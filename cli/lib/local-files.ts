/**
 * The command line's own JSON files (config.json, uploads.json): private to the person (files
 * 0600, directories 0700, as the XDG Base Directory spec asks: "If, when attempting to write a
 * file, the destination directory is non-existent an attempt should be made to create it with
 * permission 0700"), written whole or not at all, and moved once from where version 0.1 kept them.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from './settings.ts';

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    // Missing or half-written by hand: the same as absent.
    return undefined;
  }
}

function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // An existing directory keeps the mode it was made with; ours holds tokens, so tighten it.
  chmodSync(dir, 0o700);
}

/** Write-then-rename: another process never reads half a file, and tokens never hit disk world-readable. */
export function writeJson(file: string, value: unknown): void {
  privateDir(path.dirname(file));
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export const configFile = (s: Settings) => path.join(s.configDir, 'config.json');
export const uploadsFile = (s: Settings) => path.join(s.stateDir, 'uploads.json');

/** rename(2), or copy and unlink when the two directories are on different file systems. */
function move(from: string, to: string): void {
  privateDir(path.dirname(to));
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    copyFileSync(from, to);
    unlinkSync(from);
  }
  chmodSync(to, 0o600);
}

/**
 * Version 0.1 kept `credentials.json` and `uploads.json` together in ~/.config/stratus (or
 * STRATUS_CONFIG_DIR). Each moves to its new place once, when that place is still empty, and the
 * move is reported on stderr; a file already at the new place is never overwritten.
 */
export function migrateLegacyFiles(s: Settings, report: (line: string) => void): void {
  const moves: [string, string][] = [
    [path.join(s.legacyDir, 'credentials.json'), configFile(s)],
    [path.join(s.legacyDir, 'uploads.json'), uploadsFile(s)],
  ];
  for (const [from, to] of moves) {
    if (from === to || !existsSync(from) || existsSync(to)) continue;
    move(from, to);
    report(`stratus: moved ${from} to ${to} (XDG base directories)`);
  }
}
