import { SaxesParser, type SaxesTagNS } from 'saxes';

/*
 * A bounded XML reader for SOAP documents that arrive before anything has vouched for them: the Outbound Message
 * envelope Salesforce POSTs to the product, and the SOAP API requests the Salesforce sandbox serves. Either side must
 * cost little whatever it is given.
 *
 * Parsing is done by saxes (a strict, conforming streaming parser, the one jsdom uses), not by hand-written code:
 * - it never processes a DTD: a DOCTYPE is only reported, entity declarations are never read, so no external entity
 *   is fetched and no entity expands (anything but the five predefined entities and character references is an
 *   error); we also refuse any DOCTYPE outright;
 * - it resolves namespaces with one small map per element that declares some and a walk up the open elements, instead
 *   of copying the whole scope per element (the copy is what made a 108 KiB body cost a gigabyte);
 * - it streams: every limit below is enforced in its event handlers, so a hostile document is abandoned at the first
 *   element, attribute or declaration over budget, before any more of it is read.
 * fast-xml-parser was the other candidate; it does not resolve namespace URIs, which reading a SOAP envelope
 * correctly needs (any prefix may be bound to the outbound-messaging namespace).
 */

export class XmlParseError extends Error {
  override readonly name = 'XmlParseError';
}

export interface XmlAttribute {
  /** Name after the prefix (`type` for `xsi:type`). */
  local: string;
  /** Namespace URI of a prefixed attribute; undefined for an unprefixed one (attributes take no default namespace). */
  namespace: string | undefined;
  value: string;
}

export interface XmlElement {
  /** Name after the prefix (`notifications`, `Id`). */
  local: string;
  /** Namespace URI the prefix (or default namespace) resolves to; undefined when none is declared. */
  namespace: string | undefined;
  attributes: readonly XmlAttribute[];
  children: XmlElement[];
  /** Concatenated character data directly inside the element. */
  text: string;
  /** Resolves a prefix in this element's scope (for QName attribute values such as `xsi:type="sf:Opportunity"`). */
  resolve(prefix: string): string | undefined;
}

export interface XmlLimits {
  /** An Outbound Message envelope is 6 levels deep (Envelope/Body/notifications/Notification/sObject/field). */
  maxDepth: number;
  /** 100 notifications × the fields an admin selects, plus the envelope. */
  maxElements: number;
  maxAttributesPerElement: number;
  /** Salesforce declares the sObject namespace once per notification, so up to ~100 declarations are normal. */
  maxNamespaceDeclarations: number;
  /** Character data kept per element; field values are ignored anyway, ids and urls are short. */
  maxTextPerElement: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = {
  maxDepth: 16,
  maxElements: 20_000,
  maxAttributesPerElement: 16,
  maxNamespaceDeclarations: 512,
  maxTextPerElement: 64 * 1024,
};

const XSI_NAMESPACE = 'http://www.w3.org/2001/XMLSchema-instance';

/**
 * Prefixes a sender may use without declaring them. A third-party sample of an Outbound Message uses `xsi:nil` without
 * declaring `xsi` (whether Salesforce ever does is UNCONFIRMED; its WSDL-generated envelopes declare it), so the
 * tolerant choice is to read `xsi` as the XML Schema instance namespace rather than reject the message.
 */
const IMPLIED_PREFIXES: ReadonlyMap<string, string> = new Map([['xsi', XSI_NAMESPACE]]);

interface Building {
  element: XmlElement;
  parent: Building | undefined;
  /** The namespace declarations on this element only (saxes keeps one such map per element). */
  declared: Readonly<Record<string, string>>;
}

function resolverFor(building: Building): (prefix: string) => string | undefined {
  return (prefix) => {
    for (let scope: Building | undefined = building; scope; scope = scope.parent) {
      const uri = scope.declared[prefix];
      if (uri !== undefined) return uri === '' ? undefined : uri;
    }
    return IMPLIED_PREFIXES.get(prefix);
  };
}

/** Parses a whole document under `limits`; throws XmlParseError on the first well-formedness error or exceeded limit. */
export function parseXml(source: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true, resolvePrefix: (prefix: string) => IMPLIED_PREFIXES.get(prefix) });
  const stack: Building[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let attributesOfCurrentTag = 0;
  let namespaceDeclarations = 0;

  const fail = (message: string): never => {
    throw new XmlParseError(`${message} (at line ${parser.line}, column ${parser.column})`);
  };
  const appendText = (text: string): void => {
    const top = stack[stack.length - 1];
    if (!top) return; // whitespace around the root; saxes rejects anything else there
    if (top.element.text.length + text.length > limits.maxTextPerElement) fail('element text too long');
    top.element.text += text;
  };

  parser.on('error', (error) => {
    throw new XmlParseError(error.message);
  });
  parser.on('doctype', () => fail('DOCTYPE and other declarations are not accepted'));
  parser.on('opentagstart', () => {
    elements += 1;
    if (elements > limits.maxElements) fail('too many elements');
    if (stack.length >= limits.maxDepth) fail('elements nested too deeply');
    attributesOfCurrentTag = 0;
  });
  parser.on('attribute', (attribute) => {
    attributesOfCurrentTag += 1;
    if (attributesOfCurrentTag > limits.maxAttributesPerElement) fail('too many attributes on one element');
    if (attribute.prefix === 'xmlns' || attribute.name === 'xmlns') {
      namespaceDeclarations += 1;
      if (namespaceDeclarations > limits.maxNamespaceDeclarations) fail('too many namespace declarations');
    }
  });
  parser.on('opentag', (tag: SaxesTagNS) => {
    const attributes: XmlAttribute[] = [];
    for (const attribute of Object.values(tag.attributes)) {
      if (attribute.prefix === 'xmlns' || attribute.name === 'xmlns') continue;
      attributes.push({ local: attribute.local, namespace: attribute.prefix === '' ? undefined : attribute.uri, value: attribute.value });
    }
    const parent = stack[stack.length - 1];
    const element: XmlElement = { local: tag.local, namespace: tag.uri === '' ? undefined : tag.uri, attributes, children: [], text: '', resolve: () => undefined };
    const building: Building = { element, parent, declared: tag.ns };
    element.resolve = resolverFor(building);
    if (parent) parent.element.children.push(element);
    else root = element;
    stack.push(building);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.on('text', appendText);
  parser.on('cdata', appendText);

  parser.write(source).close();
  if (!root) throw new XmlParseError('no root element');
  return root;
}

/** Character data or an attribute value, escaped for any place in a document. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export function child(element: XmlElement | undefined, local: string): XmlElement | undefined {
  return element?.children.find((candidate) => candidate.local === local);
}

export function children(element: XmlElement | undefined, local: string): XmlElement[] {
  return element?.children.filter((candidate) => candidate.local === local) ?? [];
}
