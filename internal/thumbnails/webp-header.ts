/**
 * A WebP's canvas size from its first bytes. libvips refuses a truncated WebP outright ("unable to
 * parse image"), so the renderer's header check (the first MiB only) needs this for any WebP
 * larger than that. RIFF container, then the first chunk (Google's WebP container specification):
 * VP8X (extended: 24-bit width-1 and height-1), VP8L (lossless: 14-bit width-1 and height-1 after
 * the 0x2f signature) or "VP8 " (lossy: 14-bit width and height after the 9d 01 2a start code).
 */
export function webpDimensions(header: Buffer): { width: number; height: number } | null {
  if (header.length < 30 || header.toString('latin1', 0, 4) !== 'RIFF' || header.toString('latin1', 8, 12) !== 'WEBP') return null;
  switch (header.toString('latin1', 12, 16)) {
    case 'VP8X':
      return { width: header.readUIntLE(24, 3) + 1, height: header.readUIntLE(27, 3) + 1 };
    case 'VP8L': {
      if (header[20] !== 0x2f) return null;
      const bits = header.readUInt32LE(21);
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    case 'VP8 ':
      if (header[23] !== 0x9d || header[24] !== 0x01 || header[25] !== 0x2a) return null;
      return { width: header.readUInt16LE(26) & 0x3fff, height: header.readUInt16LE(28) & 0x3fff };
    default:
      return null;
  }
}
