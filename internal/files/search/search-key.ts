/**
 * The search key of a name, and of a query, built the same way so one LIKE compares them:
 * - NFKD, then every combining mark (\p{M}) dropped: "Résumé" → "Resume", "ﬁle" → "file";
 * - full Unicode case folding (the same table as names.ts): "STRASSE" ~ "straße";
 * - every run of characters that are neither letters nor digits becomes one space, and the ends
 *   are trimmed: "q3_report-final.pdf" → "q3 report final pdf". So a word starts after a space
 *   (word-prefix matching is `key like 'q%' or key like '% q%'`), and punctuation, including
 *   the LIKE metacharacters % and _, never reaches a pattern: a query of only wildcards has no
 *   key at all and is refused before any statement runs.
 * At most KEY_MAX code points are kept (the column's length); names are at most 255 bytes, so
 * only names that expand under NFKD (ligatures, "㎒") can lose their tail.
 */
import { caseFold } from 'unicode-case-folding';

export const KEY_MAX = 255;

export function searchKey(text: string): string {
  const folded = caseFold(text.normalize('NFKD').replace(/\p{M}/gu, ''))
    // Folding can yield decomposable characters again ("ẞ" stays, but e.g. U+0130 → "i̇").
    .normalize('NFKD')
    .replace(/\p{M}/gu, '');
  const key = folded.replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
  const points = [...key];
  return points.length > KEY_MAX ? points.slice(0, KEY_MAX).join('').trimEnd() : key;
}
