import { createHash } from 'node:crypto';

/**
 * The CSP hash sources (`'sha256-…'`) of a page's inline <script> and <style> blocks, so the admin pages can stay
 * single files while the Content-Security-Policy allows exactly those blocks and no other inline code.
 */
export function inlineHashes(html: string): { scripts: string[]; styles: string[] } {
  const hashesOf = (tag: string) =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => `'sha256-${createHash('sha256').update(m[1] ?? '').digest('base64')}'`);
  return { scripts: hashesOf('script'), styles: hashesOf('style') };
}
