import { z } from 'zod';

/**
 * An absolute http(s) URL. zod's own check answers a bare host (`contoso.crm.dynamics.com`) with "Invalid URL", and
 * `new URL` takes `host:443` for a URL whose scheme is `host:`; this says what is expected, with an example.
 */
export const httpUrl = (example: string) =>
  z.string().superRefine((value, ctx) => {
    const parsed = URL.canParse(value) ? new URL(value) : undefined;
    if (parsed && (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.hostname !== '') return;
    const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
    ctx.addIssue({
      code: 'custom',
      message: hasScheme ? `expected an http(s) URL, e.g. ${example}` : `expected an absolute URL starting with https:// (got "${value.slice(0, 100)}"), e.g. ${example}`,
    });
  });
