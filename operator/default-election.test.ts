/** The default-election rules, without a cluster. */
import { describe, expect, it } from 'vitest';
import { electDefault, type Candidate } from './default-election.ts';

const c = (name: string, createdAt: number, over: Partial<Candidate> = {}): Candidate => ({
  name,
  createdAt,
  claimsDefault: false,
  ready: true,
  deleting: false,
  state: 'active',
  ...over,
});

describe('electDefault', () => {
  it('picks the oldest Ready claimant and tells the younger ones', () => {
    const e = electDefault([c('young', 2, { claimsDefault: true }), c('old', 1, { claimsDefault: true }), c('other', 0)], null);
    expect(e.winner).toBe('old');
    expect(e.conditions.get('old')).toMatchObject({ status: 'True', reason: 'Elected' });
    expect(e.conditions.get('young')).toMatchObject({ status: 'False', reason: 'OlderDefaultWins' });
    expect(e.conditions.get('other')).toMatchObject({ status: 'False', reason: 'NotDefault' });
  });

  it('skips claimants that are not Ready, active and alive', () => {
    const e = electDefault(
      [
        c('broken', 0, { claimsDefault: true, ready: false }),
        c('gone', 1, { claimsDefault: true, deleting: true }),
        c('ro', 2, { claimsDefault: true, state: 'readonly' }),
        c('ok', 3, { claimsDefault: true }),
      ],
      null,
    );
    expect(e.winner).toBe('ok');
    expect(e.conditions.get('broken')).toMatchObject({ status: 'False', reason: 'NotEligible' });
    expect(e.conditions.get('ro')?.message).toContain('readonly');
  });

  it('keeps the previous default when nobody claims it, while it is still Ready', () => {
    expect(electDefault([c('a', 0), c('b', 1)], 'b')).toMatchObject({ winner: 'b' });
    expect(electDefault([c('a', 0), c('b', 1)], 'b').conditions.get('b')?.reason).toBe('KeptPrevious');
    const none = electDefault([c('a', 0), c('b', 1, { ready: false })], 'b');
    expect(none.winner).toBeNull();
    expect(none.conditions.get('a')).toMatchObject({ status: 'False', reason: 'NoDefault' });
  });
});
