/**
 * Reads a service endpoint's `authvalue`. The Plugin Registration Tool stores HttpHeader and HttpQueryString values as
 * `<settings><setting name="x" value="y"/></settings>` (UNCONFIRMED, "Use webhooks to create external handlers for
 * server events"); JSON objects and `a=b&c=d` / `Name: value` lines are accepted too, the tolerant choice for a
 * hand-written setup script.
 */
export function parseAuthSettings(authValue: string): Array<[string, string]> {
  const text = authValue.trim();
  if (text.startsWith('<')) {
    const settings: Array<[string, string]> = [];
    const pattern = /<setting\s+([^>]*?)\/?>/gi;
    for (const match of text.matchAll(pattern)) {
      const attributes = match[1] ?? '';
      const name = /name\s*=\s*"([^"]*)"/i.exec(attributes)?.[1] ?? /name\s*=\s*'([^']*)'/i.exec(attributes)?.[1];
      const value = /value\s*=\s*"([^"]*)"/i.exec(attributes)?.[1] ?? /value\s*=\s*'([^']*)'/i.exec(attributes)?.[1];
      if (name !== undefined && value !== undefined) settings.push([decodeXml(name), decodeXml(value)]);
    }
    return settings;
  }
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed === 'object' && parsed !== null) {
        return Object.entries(parsed as Record<string, unknown>).map(([key, value]): [string, string] => [key, String(value)]);
      }
    } catch {
      return [];
    }
  }
  if (text.includes(':') && !text.includes('=')) {
    return text
      .split(/\r?\n/)
      .map((line) => line.split(/:(.*)/s))
      .filter((parts): parts is [string, string] => parts.length >= 2 && parts[0] !== undefined && parts[1] !== undefined)
      .map(([name, value]): [string, string] => [name.trim(), value.trim()]);
  }
  return [...new URLSearchParams(text).entries()];
}

function decodeXml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
