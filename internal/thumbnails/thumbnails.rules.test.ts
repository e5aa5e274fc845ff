/** Which first bytes make a blob worth reading on for its header: the formats sharp encodes here, and what is none of them. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { startsLikeImage } from './thumbnails.rules.ts';

describe('startsLikeImage', () => {
  it.each(['jpeg', 'png', 'gif', 'webp', 'avif'] as const)('%s as sharp writes it', async (format) => {
    const image = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#09c' } }).toFormat(format).toBuffer();
    expect(startsLikeImage(image)).toBe(true);
  });

  it.each([
    ['text', Buffer.from('hello, world\n')],
    ['a PDF', Buffer.from('%PDF-1.7\n')],
    ['a ZIP (docx, xlsx)', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0])],
    ['a RIFF that is no WebP (WAV)', Buffer.from('RIFF\0\0\0\0WAVEfmt ')],
    ['two bytes of a JPEG', Buffer.from([0xff, 0xd8])],
    ['nothing', Buffer.alloc(0)],
  ])('%s is none', (_what, bytes) => {
    expect(startsLikeImage(bytes)).toBe(false);
  });

  it('TIFF, which sharp reads but no thumbnail is made of, is none', async () => {
    const tiff = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#09c' } }).tiff().toBuffer();
    expect(startsLikeImage(tiff)).toBe(false);
  });
});
