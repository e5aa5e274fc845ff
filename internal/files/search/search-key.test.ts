/** The search key: the one folding both names and queries go through (pure, fast tier). */
import { describe, expect, it } from 'vitest';
import { KEY_MAX, searchKey } from './search-key.ts';

describe('searchKey', () => {
  const cases: [string, string][] = [
    ['Résumé.pdf', 'resume pdf'],
    ['RESUME', 'resume'],
    ['résumé', 'resume'],
    ['Straße', 'strasse'],
    ['ΟΔΟΣ', 'οδοσ'],
    ['ﬁle', 'file'], // NFKD splits the ligature
    ['Ｆｕｌｌｗｉｄｔｈ', 'fullwidth'],
    ['İstanbul', 'istanbul'], // the dot above is a combining mark after folding
    ['q3_report-final (2).PDF', 'q3 report final 2 pdf'],
    ['  %%%__***  ', ''],
    ['%', ''],
    ['a%b_c*d', 'a b c d'],
    ['日本語のファイル', '日本語のファイル'],
  ];
  it.each(cases)('%s → %s', (input, key) => {
    expect(searchKey(input)).toBe(key);
  });

  it('keeps at most KEY_MAX code points and only letters, digits and single spaces', () => {
    const key = searchKey('ﷺ'.repeat(200));
    expect([...key].length).toBeLessThanOrEqual(KEY_MAX);
    expect(key).toMatch(/^[\p{L}\p{N}]+( [\p{L}\p{N}]+)*$/u);
  });
});
