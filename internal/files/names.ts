/**
 * File and folder names. The rules (documented in the README):
 * - 1 to 255 bytes of UTF-8 after Unicode NFC normalisation (stored normalised);
 * - well-formed Unicode: an unpaired surrogate has no UTF-8 form (RFC 3629 §3), so MariaDB stored
 *   "?" in its place and the name read back differed — refused (`name_unpaired_surrogate`);
 * - no `/`, `\` or control character: every General_Category Cc code point, i.e. C0
 *   (U+0000–U+001F), DEL and C1 (U+007F–U+009F, with U+0085 NEL and U+009B CSI, which terminals
 *   read as a line break and an escape sequence) (`name_invalid_character`);
 * - not made only of dots and spaces (".", "..", "...", "  "), and no leading or trailing spaces;
 * - unique per folder regardless of case: "Report.pdf" and "report.PDF", "straße" and "STRASSE",
 *   "ΟΔΟΣ" and "οδοσ" cannot sit side by side. The key is the canonical caseless form of Unicode
 *   §3.13 (D145: NFD, then full case folding, CaseFolding.txt statuses C+F), kept in NFC; accents
 *   are significant ("é" ≠ "e") and the Turkic T mappings are not used ("I" ~ "i", not "ı").
 */
import { caseFold } from 'unicode-case-folding';
import { AppError, type ErrorReason } from '../platform/errors.ts';

export const MAX_NAME_BYTES = 255;
/** The `name_key` column holds 255 characters (code points). */
const MAX_KEY_CODE_POINTS = 255;

export function normalizeName(raw: string): string {
  const bad = (reason: ErrorReason, message: string) =>
    new AppError('BAD_INPUT', message, { details: { field: 'name', reason } });
  // With the u flag a surrogate pair is one code point: \p{Cs} matches only unpaired halves.
  if (/\p{Cs}/u.test(raw)) throw bad('name_unpaired_surrogate', 'A name must be valid Unicode text (it has an unpaired surrogate)');
  const name = raw.normalize('NFC');
  if (name.length === 0) throw bad('name_empty', 'A name cannot be empty');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw bad('name_too_long', `A name can have at most ${MAX_NAME_BYTES} bytes`);
  if (/[/\\\p{Cc}]/u.test(name)) throw bad('name_invalid_character', 'A name cannot contain "/", "\\" or control characters');
  if (/^[.\s]+$/u.test(name)) throw bad('name_only_dots', 'A name cannot be made only of dots and spaces');
  if (name !== name.trim()) throw bad('name_whitespace', 'A name cannot start or end with a space');
  // Folding can lengthen a name ("ß" → "ss"); for every Unicode 17 character the key has no more
  // code points than the name has bytes, so this only guards a future table.
  if ([...nameKey(name)].length > MAX_KEY_CODE_POINTS) throw bad('name_too_long', `A name can have at most ${MAX_NAME_BYTES} bytes`);
  return name;
}

/** The uniqueness key: NFC(fold(NFD(name))), a canonical caseless match (Unicode §3.13 D145). */
export function nameKey(name: string): string {
  return caseFold(name.normalize('NFD')).normalize('NFC');
}

/** "report.pdf" → "report (1).pdf": the next free name when restoring onto a taken one. */
export function numberedName(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return `${stem} (${n})${ext}`;
}
