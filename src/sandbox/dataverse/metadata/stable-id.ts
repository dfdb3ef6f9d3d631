import { createHash } from 'node:crypto';

/**
 * A GUID derived from a name, so built-in metadata ids (and the well-known users and sdkmessages) are the same on every
 * start: a client that cached them across a sandbox restart keeps working, as it would against a real org.
 */
export function stableGuid(...parts: string[]): string {
  const hex = createHash('sha1').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
