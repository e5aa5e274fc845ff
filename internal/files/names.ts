/**
 * File and folder names. The rules (documented in the README):
 * - 1 to 255 bytes of UTF-8 after Unicode NFC normalisation (stored normalised);
 * - no `/`, `\`, NUL or other control characters (U+0000–U+001F, U+007F);
 * - not made only of dots and spaces (".", "..", "...", "  "), and no leading or trailing spaces;
 * - unique per folder regardless of case: "Report.pdf" and "report.PDF" cannot sit side by side
 *   (compared on the NFC form lower-cased; accents are significant, "é" ≠ "e").
 */
import { AppError } from '../platform/errors.ts';

export const MAX_NAME_BYTES = 255;

export function normalizeName(raw: string): string {
  const name = raw.normalize('NFC');
  const bad = (reason: string, message: string) =>
    new AppError('BAD_INPUT', message, { details: { field: 'name', reason } });
  if (name.length === 0) throw bad('name_empty', 'A name cannot be empty');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw bad('name_too_long', `A name can have at most ${MAX_NAME_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[/\\\u0000-\u001f\u007f]/.test(name)) throw bad('name_invalid_character', 'A name cannot contain "/", "\\" or control characters');
  if (/^[.\s]+$/u.test(name)) throw bad('name_only_dots', 'A name cannot be made only of dots and spaces');
  if (name !== name.trim()) throw bad('name_whitespace', 'A name cannot start or end with a space');
  return name;
}

export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** "report.pdf" → "report (1).pdf": the next free name when restoring onto a taken one. */
export function numberedName(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return `${stem} (${n})${ext}`;
}
