/** Address shortening (what a person's activity log keeps of an address), the actions, event ids. */
import { describe, expect, it } from 'vitest';
import { ACTIVITY_ACTIONS, isSecurityAction, shortenAddress } from './activity.actions.ts';
import { eventId } from './activity.repository.ts';

describe('shortenAddress', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0'],
    ['10.1.2.3', '10.1.2.0'],
    ['255.255.255.255', '255.255.255.0'],
    ['::ffff:198.51.100.9', '198.51.100.0'],
    ['::FFFF:198.51.100.9', '198.51.100.0'],
    ['2001:db8:abcd:12::1', '2001:db8:abcd::'],
    ['2001:0db8:0000:0042:0000:8a2e:0370:7334', '2001:db8:0::'],
    ['fe80::1%eth0', 'fe80:0:0::'],
    ['::1', '0:0:0::'],
    ['::', '0:0:0::'],
    ['2001:db8::', '2001:db8:0::'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0::'],
  ])('%s keeps %s', (address, kept) => {
    expect(shortenAddress(address)).toBe(kept);
  });

  it.each([undefined, null, '', 'localhost', '1.2.3', '999.1.1.1', '2001:db8::1::2', 'not an address', '1.2.3.4:80'])('%s is not stored', (address) => {
    expect(shortenAddress(address)).toBeNull();
  });
});

describe('actions', () => {
  it('are the 14 of the contract and 3 more; the security ones go to the audit log', () => {
    expect(ACTIVITY_ACTIONS).toHaveLength(17);
    expect(ACTIVITY_ACTIONS.filter(isSecurityAction)).toEqual(['TOKEN_CREATED', 'SIGNED_IN', 'SIGN_IN_FAILED', 'PASSWORD_CHANGED', 'TOKEN_REVOKED', 'ADMIN_ACTION']);
  });
});

describe('event ids', () => {
  it('sort as written, also within one millisecond, and look like UUIDv7', () => {
    const at = new Date('2026-12-05T12:00:00.123Z');
    const ids = Array.from({ length: 50 }, () => eventId(at));
    expect([...ids].sort()).toEqual(ids);
    expect(eventId(new Date(at.getTime() + 1)) > ids.at(-1)!).toBe(true);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
