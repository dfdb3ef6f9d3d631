/*
 * A small, safe XML reader for the one document Salesforce POSTs to us: the Outbound Message SOAP envelope (reference
 * B11). It reads elements, attributes, text, CDATA and the five predefined entities plus character references, and
 * resolves namespace prefixes. It refuses what a fixed SOAP envelope never needs and attackers love: DOCTYPE (so no
 * entity definitions, no external entities, no entity expansion), unknown entities, unbalanced tags, runaway nesting.
 */

export class XmlParseError extends Error {
  override readonly name = 'XmlParseError';
}

export interface XmlElement {
  /** Name after the prefix (`notifications`, `Id`). */
  local: string;
  /** Namespace URI the prefix (or default namespace) resolves to; undefined when none is declared. */
  namespace: string | undefined;
  /** Attributes by their qualified name (`xsi:type`), with resolved values for QName lookups via `resolve`. */
  attributes: ReadonlyMap<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside the element. */
  text: string;
  /** Resolves a prefix in this element's scope (for QName attribute values such as `xsi:type="sf:Opportunity"`). */
  resolve(prefix: string): string | undefined;
}

const MAX_DEPTH = 64;
const MAX_ELEMENTS = 200_000;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isNameChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f || code === 0x2d || code === 0x2e || code === 0x3a || code > 0x7f
  );
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let index = 0;
  while (index < raw.length) {
    const amp = raw.indexOf('&', index);
    if (amp === -1) {
      out += raw.slice(index);
      break;
    }
    out += raw.slice(index, amp);
    const semi = raw.indexOf(';', amp);
    if (semi === -1 || semi - amp > 12) throw new XmlParseError('unterminated entity reference');
    const name = raw.slice(amp + 1, semi);
    if (name.startsWith('#')) {
      const hex = name.startsWith('#x') || name.startsWith('#X');
      const digits = name.slice(hex ? 2 : 1);
      const code = Number.parseInt(digits, hex ? 16 : 10);
      if (digits === '' || !Number.isFinite(code) || code < 1 || code > 0x10ffff) throw new XmlParseError(`invalid character reference &${name};`);
      out += String.fromCodePoint(code);
    } else {
      const value = PREDEFINED[name];
      if (value === undefined) throw new XmlParseError(`unknown entity &${name};`);
      out += value;
    }
    index = semi + 1;
  }
  return out;
}

interface OpenElement {
  qualified: string;
  element: XmlElement;
  scope: Map<string, string>;
}

export function parseXml(source: string): XmlElement {
  let index = 0;
  let count = 0;
  const stack: OpenElement[] = [];
  let root: XmlElement | undefined;

  const fail = (message: string): never => {
    throw new XmlParseError(`${message} (at character ${index})`);
  };
  const readName = (): string => {
    const start = index;
    while (index < source.length && isNameChar(source.charCodeAt(index))) index += 1;
    if (index === start) fail('expected a name');
    return source.slice(start, index);
  };
  const skipSpace = (): void => {
    while (index < source.length && isSpace(source.charCodeAt(index))) index += 1;
  };
  const appendText = (text: string): void => {
    const top = stack[stack.length - 1];
    if (top) top.element.text += text;
    else if (text.trim() !== '') fail('text outside the root element');
  };

  while (index < source.length) {
    const lt = source.indexOf('<', index);
    if (lt === -1) {
      appendText(decodeEntities(source.slice(index)));
      break;
    }
    if (lt > index) appendText(decodeEntities(source.slice(index, lt)));
    index = lt;
    if (source.startsWith('<?', index)) {
      const end = source.indexOf('?>', index);
      if (end === -1) fail('unterminated processing instruction');
      index = end + 2;
    } else if (source.startsWith('<!--', index)) {
      const end = source.indexOf('-->', index);
      if (end === -1) fail('unterminated comment');
      index = end + 3;
    } else if (source.startsWith('<![CDATA[', index)) {
      const end = source.indexOf(']]>', index);
      if (end === -1) fail('unterminated CDATA section');
      appendText(source.slice(index + 9, end));
      index = end + 3;
    } else if (source.startsWith('<!', index)) {
      fail('DOCTYPE and other declarations are not accepted');
    } else if (source.startsWith('</', index)) {
      index += 2;
      const name = readName();
      skipSpace();
      if (source[index] !== '>') fail('malformed end tag');
      index += 1;
      const open = stack.pop();
      if (!open || open.qualified !== name) fail(`end tag </${name}> does not match <${open?.qualified ?? '(none)'}>`);
    } else {
      index += 1;
      const qualified = readName();
      const attributes = new Map<string, string>();
      let selfClosing = false;
      for (;;) {
        skipSpace();
        const char = source[index];
        if (char === undefined) fail('unterminated start tag');
        if (char === '>') {
          index += 1;
          break;
        }
        if (char === '/' && source[index + 1] === '>') {
          index += 2;
          selfClosing = true;
          break;
        }
        const attribute = readName();
        skipSpace();
        if (source[index] !== '=') fail(`attribute ${attribute} has no value`);
        index += 1;
        skipSpace();
        const quote = source[index];
        if (quote !== '"' && quote !== "'") fail(`attribute ${attribute} value is not quoted`);
        const end = source.indexOf(quote as string, index + 1);
        if (end === -1) fail(`unterminated value of attribute ${attribute}`);
        const value = source.slice(index + 1, end);
        if (value.includes('<')) fail(`"<" in the value of attribute ${attribute}`);
        if (attributes.has(attribute)) fail(`duplicate attribute ${attribute}`);
        attributes.set(attribute, decodeEntities(value));
        index = end + 1;
      }
      count += 1;
      if (count > MAX_ELEMENTS) fail('too many elements');
      if (stack.length >= MAX_DEPTH) fail('elements nested too deeply');
      const parentScope = stack[stack.length - 1]?.scope;
      const scope = new Map(parentScope ?? []);
      for (const [name, value] of attributes) {
        if (name === 'xmlns') scope.set('', value);
        else if (name.startsWith('xmlns:')) scope.set(name.slice(6), value);
      }
      const colon = qualified.indexOf(':');
      const prefix = colon === -1 ? '' : qualified.slice(0, colon);
      const element: XmlElement = {
        local: colon === -1 ? qualified : qualified.slice(colon + 1),
        namespace: scope.get(prefix),
        attributes,
        children: [],
        text: '',
        resolve: (name) => scope.get(name),
      };
      const parent = stack[stack.length - 1];
      if (parent) parent.element.children.push(element);
      else if (root) fail('more than one root element');
      else root = element;
      if (!selfClosing) stack.push({ qualified, element, scope });
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1]?.qualified ?? ''}> is never closed`);
  if (!root) throw new XmlParseError('no root element');
  return root;
}

export function child(element: XmlElement | undefined, local: string): XmlElement | undefined {
  return element?.children.find((candidate) => candidate.local === local);
}

export function children(element: XmlElement | undefined, local: string): XmlElement[] {
  return element?.children.filter((candidate) => candidate.local === local) ?? [];
}
