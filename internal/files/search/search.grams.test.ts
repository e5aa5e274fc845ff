import { describe, expect, it } from 'vitest';
import { candidateGrams, gramEstimateStatement, rarestGram, trigrams } from './search.grams.ts';

describe('search trigrams', () => {
  it('cuts a key into its distinct trigrams by code point, in order', () => {
    expect(trigrams('ab')).toEqual([]);
    expect(trigrams('abc')).toEqual(['abc']);
    expect(trigrams('aaaa')).toEqual(['aaa']);
    expect(trigrams('über 2')).toEqual(['übe', 'ber', 'er ', 'r 2']);
    // Astral code points count as one letter each, as SUBSTRING does in MariaDB.
    expect(trigrams('a😀bc')).toEqual(['a😀b', '😀bc']);
  });

  it('weighs at most eight trigrams, spread from the first to the last', () => {
    const grams = trigrams('meeting notes 2019 final');
    const weighed = candidateGrams(grams);
    expect(weighed).toHaveLength(8);
    expect(weighed[0]).toBe(grams[0]);
    expect(weighed.at(-1)).toBe(grams.at(-1));
    expect(candidateGrams(['abc', 'bcd'])).toEqual(['abc', 'bcd']);
  });

  it('picks the trigram with the fewest estimated rows, by the select id of the EXPLAIN', () => {
    const grams = ['inv', 'nvo', ' 07'];
    const explained = [
      { id: 1, rows: 23 },
      { id: 2, rows: 23n },
      { id: 3, rows: '1' },
      { id: null, rows: null },
    ];
    expect(rarestGram(grams, explained)).toBe(' 07');
    expect(rarestGram(grams, [])).toBe('inv');
    expect(gramEstimateStatement('o', grams).params).toEqual(['o', 'inv', 'o', 'nvo', 'o', ' 07']);
  });
});
