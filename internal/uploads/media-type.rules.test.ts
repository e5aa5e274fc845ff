import { describe, expect, it } from 'vitest';
import { isMediaType, MEDIA_TYPE_MAX_LENGTH, partMediaType } from './media-type.rules.ts';

describe('isMediaType', () => {
  it('takes type/subtype of restricted names, up to the column length', () => {
    for (const ok of ['text/plain', 'image/svg+xml', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'Text/Markdown', `x/${'y'.repeat(MEDIA_TYPE_MAX_LENGTH - 2)}`]) expect(isMediaType(ok), ok).toBe(true);
  });

  it('refuses parameters, a missing subtype, spaces, an empty string and anything longer than the column', () => {
    for (const bad of ['text/plain; charset=utf-8', 'text', 'text/', '/plain', 'not a type', '', 'a/b/c', `x/${'y'.repeat(MEDIA_TYPE_MAX_LENGTH - 1)}`]) expect(isMediaType(bad), bad).toBe(false);
  });
});

describe('partMediaType', () => {
  it("takes a client's type leniently: lower-cased when recordable, else application/octet-stream (too long included)", () => {
    expect(partMediaType('Image/PNG')).toBe('image/png');
    for (const other of ['text/plain; charset=utf-8', '', 'text', `x/${'y'.repeat(MEDIA_TYPE_MAX_LENGTH)}`]) expect(partMediaType(other), other).toBe('application/octet-stream');
  });
});
