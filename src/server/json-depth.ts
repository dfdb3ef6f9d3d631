/**
 * Whether JSON text nests arrays/objects deeper than `maxDepth`, decided in one pass over the raw bytes without
 * parsing: brackets inside strings are skipped (a backslash escapes the next byte). Malformed JSON is not judged here;
 * JSON.parse rejects it afterwards. A deeply nested value parses fine but later breaks every recursive consumer
 * (JSON.stringify overflows the stack), so it is refused before it is stored.
 */
export function jsonDepthExceeds(bytes: Uint8Array, maxDepth: number): boolean {
  const QUOTE = 0x22;
  const BACKSLASH = 0x5c;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    switch (byte) {
      case QUOTE:
        inString = true;
        break;
      case 0x5b: // [
      case 0x7b: // {
        if (++depth > maxDepth) return true;
        break;
      case 0x5d: // ]
      case 0x7d: // }
        depth--;
        break;
    }
  }
  return false;
}
