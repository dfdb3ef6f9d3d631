/*
 * Server-rendered HTML through hono's `html` tagged template (hono/html, used on its own — no Hono app): every
 * interpolated value is escaped unless it is itself a fragment built by the tag. Deal names, notes and error messages
 * come from Partner Center, the CRM and webhook senders.
 */
import { html as escapedHtml } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/** A fragment of escaped HTML, safe to interpolate into another. */
export type Html = HtmlEscapedString;

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

/** `html` with only synchronous values: the console never interpolates a promise, so the result is never one. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  const fragment = escapedHtml(strings, ...values);
  if (fragment instanceof Promise) throw new TypeError('an HTML fragment interpolated a promise');
  return fragment;
}

/** An instant as the browser shows it: local time (console.js), the UTC value on hover. */
export function time(iso: string | null | undefined, empty = 'never'): Html {
  if (!iso) return html`<span class="muted">${empty}</span>`;
  return html`<time datetime="${iso}" title="${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC')}">${iso}</time>`;
}
