/** `"{customerProfile.name} – {name}"` → literal parts and placeholder paths. `{{` and `}}` write literal braces. */
export type TemplatePart = { literal: string } | { path: string };

export type ParsedTemplate = { ok: true; parts: TemplatePart[]; paths: string[] } | { ok: false; reason: string };

export function parseTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let literal = '';
  let index = 0;
  while (index < template.length) {
    const char = template[index];
    const next = template[index + 1];
    if ((char === '{' && next === '{') || (char === '}' && next === '}')) {
      literal += char;
      index += 2;
      continue;
    }
    if (char === '}') return { ok: false, reason: `unmatched "}" at position ${index + 1} (write "}}" for a literal brace)` };
    if (char === '{') {
      const end = template.indexOf('}', index);
      if (end < 0) return { ok: false, reason: `unclosed "{" at position ${index + 1}` };
      const path = template.slice(index + 1, end).trim();
      if (path === '') return { ok: false, reason: `empty placeholder at position ${index + 1}` };
      if (literal) parts.push({ literal });
      literal = '';
      parts.push({ path });
      index = end + 1;
      continue;
    }
    literal += char;
    index += 1;
  }
  if (literal) parts.push({ literal });
  const paths = [...new Set(parts.flatMap((p) => ('path' in p ? [p.path] : [])))];
  return { ok: true, parts, paths };
}
