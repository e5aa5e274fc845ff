import { describe, expect, it } from 'vitest';
import { ThumbnailLinks } from '../../thumbnails/thumbnail-links.ts';
import { paddingTwin } from '../../../test/support/signatures.ts';
import { sameMac } from './same-mac.ts';

describe('sameMac', () => {
  it('accepts only the very spelling, not one that decodes to the same bytes', () => {
    const mac = 'Qx9v3dY7bq2c0mEoF7yq5h0Lk3b8s1Qm2n4p6r8t0vB';
    expect(sameMac(mac, mac)).toBe(true);
    const twin = paddingTwin(mac);
    expect(Buffer.from(twin, 'base64url')).toEqual(Buffer.from(mac, 'base64url'));
    expect(sameMac(twin, mac)).toBe(false);
    expect(sameMac(mac.slice(1), mac)).toBe(false);
    expect(sameMac('', mac)).toBe(false);
  });

  it("is what thumbnail links verify with: a padding twin of a signature opens nothing", () => {
    const links = new ThumbnailLinks(new TextEncoder().encode('k'.repeat(40)));
    const { sig } = links.sign('user-1', 'file-1', 'MEDIUM');
    expect(links.verify('file-1', 'MEDIUM', sig).userId).toBe('user-1');
    expect(() => links.verify('file-1', 'MEDIUM', paddingTwin(sig))).toThrow();
    expect(() => links.verify('file-1', 'SMALL', sig)).toThrow();
  });
});
