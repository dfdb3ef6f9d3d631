import { escapeXml, parseXml, XmlParseError, type XmlElement, type XmlLimits } from '../../../util/bounded-xml.ts';
import { isBooleanLeadConvertField, LEAD_CONVERT_FIELDS, type LeadConvertResult } from '../data/lead-conversion.ts';
import type { SalesforceErrorEntry } from '../errors.ts';

/*
 * The SOAP 1.1 wire of the Partner SOAP API (SOAP API Developer Guide; the partner WSDL) for the one call the sandbox
 * serves, `convertLead()`: reading the request envelope (SessionHeader, CallOptions, the LeadConvert elements) and
 * writing the response or a fault.
 */

export const SOAP_ENVELOPE_NAMESPACE = 'http://schemas.xmlsoap.org/soap/envelope/';
export const PARTNER_NAMESPACE = 'urn:partner.soap.sforce.com';
const FAULT_NAMESPACE = 'urn:fault.partner.soap.sforce.com';
const XSI_NAMESPACE = 'http://www.w3.org/2001/XMLSchema-instance';

/** "convertLead()" takes up to 100 LeadConverts per call (the figure the Apex `Database.convertLead` docs give; UNCONFIRMED for SOAP). */
export const MAX_LEAD_CONVERTS = 100;

/**
 * A request is Envelope/Body/convertLead/leadConverts/field: 5 levels and ~16 elements a lead. The limits leave room
 * for a full call and refuse anything far beyond it before reading on.
 */
export const SOAP_REQUEST_XML_LIMITS: XmlLimits = {
  maxDepth: 8,
  maxElements: 20 * (MAX_LEAD_CONVERTS + 1),
  maxAttributesPerElement: 16,
  maxNamespaceDeclarations: 64,
  maxTextPerElement: 4096,
};

/** LeadConvert elements of the WSDL the sandbox does not model (person accounts, existing opportunities, dedupe). */
const UNMODELLED_LEAD_CONVERT_FIELDS: ReadonlySet<string> = new Set(['accountRecord', 'contactRecord', 'opportunityRecord', 'opportunityId', 'bypassAccountDedupeCheck', 'bypassContactDedupeCheck']);

/**
 * A SOAP fault. API faults (`sf:INVALID_SESSION_ID`, …) carry the exception code in `faultcode` and an
 * `UnexpectedErrorFault` detail, as Salesforce answers; a request that is not a valid message for the WSDL is a
 * `soapenv:Client` fault. SOAP 1.1 answers faults with HTTP 500; body-size and media-type refusals keep their own
 * status (what Salesforce answers there is UNCONFIRMED).
 */
export class SoapFault extends Error {
  override readonly name = 'SoapFault';

  private constructor(
    readonly faultCode: string,
    readonly exceptionCode: string | undefined,
    message: string,
    readonly httpStatus: number,
  ) {
    super(message);
  }

  static api(exceptionCode: string, message: string): SoapFault {
    return new SoapFault(`sf:${exceptionCode}`, exceptionCode, message, 500);
  }

  static client(message: string, httpStatus = 500): SoapFault {
    return new SoapFault('soapenv:Client', undefined, message, httpStatus);
  }

  static versionMismatch(message: string): SoapFault {
    return new SoapFault('soapenv:VersionMismatch', undefined, message, 500);
  }
}

export interface SoapCall {
  /** `SessionHeader/sessionId`: the OAuth access token or session id (jsforce sends its access token here). */
  sessionId: string | undefined;
  /** `CallOptions/client`: the client tag change events report in `changeOrigin`. */
  client: string | undefined;
  /** The one element in the Body, named after the call. */
  operation: XmlElement;
}

const qualified = (element: XmlElement): string => `{${element.namespace ?? ''}}${element.local}`;

function partnerText(parent: XmlElement | undefined, local: string): string | undefined {
  const element = parent?.children.find((candidate) => candidate.local === local && candidate.namespace === PARTNER_NAMESPACE);
  const text = element?.text.trim();
  return text === undefined || text === '' ? undefined : text;
}

/** Reads the envelope; every way it can be wrong is a SoapFault. */
export function readSoapCall(body: string): SoapCall {
  let envelope: XmlElement;
  try {
    envelope = parseXml(body, SOAP_REQUEST_XML_LIMITS);
  } catch (error) {
    if (error instanceof XmlParseError) throw SoapFault.client(`The request is not well-formed XML within the sandbox's limits: ${error.message}`);
    throw error;
  }
  if (envelope.local !== 'Envelope') throw SoapFault.client(`Expected a SOAP Envelope, found ${qualified(envelope)}`);
  if (envelope.namespace !== SOAP_ENVELOPE_NAMESPACE) throw SoapFault.versionMismatch(`Only SOAP 1.1 (${SOAP_ENVELOPE_NAMESPACE}) is served, found ${qualified(envelope)}`);
  const header = envelope.children.find((element) => element.local === 'Header' && element.namespace === SOAP_ENVELOPE_NAMESPACE);
  const soapBody = envelope.children.find((element) => element.local === 'Body' && element.namespace === SOAP_ENVELOPE_NAMESPACE);
  const operation = soapBody?.children[0];
  if (!soapBody || !operation) throw SoapFault.client('The SOAP Body is missing or empty');
  if (soapBody.children.length > 1) throw SoapFault.client('The SOAP Body must contain exactly one call');
  const sessionHeader = header?.children.find((element) => element.local === 'SessionHeader' && element.namespace === PARTNER_NAMESPACE);
  const callOptions = header?.children.find((element) => element.local === 'CallOptions' && element.namespace === PARTNER_NAMESPACE);
  return { sessionId: partnerText(sessionHeader, 'sessionId'), client: partnerText(callOptions, 'client'), operation };
}

/** Whether the Body holds this call of the partner WSDL. */
export function isCall(operation: XmlElement, local: string): boolean {
  return operation.local === local && operation.namespace === PARTNER_NAMESPACE;
}

export function unknownCallFault(operation: XmlElement): SoapFault {
  // Salesforce's wording for a call the WSDL does not have; the sandbox serves only convertLead.
  return SoapFault.client(`No operation available for request ${qualified(operation)}, please check the WSDL for the service. (The sandbox serves convertLead only.)`);
}

const isNil = (element: XmlElement): boolean => element.attributes.some((attribute) => attribute.local === 'nil' && attribute.namespace === XSI_NAMESPACE && (attribute.value === 'true' || attribute.value === '1'));

/** xsd:boolean's four spellings. */
function xsdBoolean(element: XmlElement): boolean {
  const text = element.text.trim();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw SoapFault.client(`'${text}' is not a valid value for the type xsd:boolean (element ${element.local})`);
}

/** The `leadConverts` of a convertLead call, each as the plain values LeadConverter validates. */
export function readLeadConverts(operation: XmlElement): Array<Record<string, string | boolean>> {
  const converts: Array<Record<string, string | boolean>> = [];
  for (const element of operation.children) {
    if (element.local !== 'leadConverts' || element.namespace !== PARTNER_NAMESPACE) throw SoapFault.client(`Element ${qualified(element)} invalid at this location`);
    converts.push(readLeadConvert(element));
  }
  if (converts.length === 0) throw SoapFault.client('convertLead needs at least one leadConverts element');
  if (converts.length > MAX_LEAD_CONVERTS) throw SoapFault.api('EXCEEDED_ID_LIMIT', `cannot convert more than ${MAX_LEAD_CONVERTS} leads in one call`);
  return converts;
}

function readLeadConvert(element: XmlElement): Record<string, string | boolean> {
  const values: Record<string, string | boolean> = {};
  for (const field of element.children) {
    const name = field.local;
    if (field.namespace !== PARTNER_NAMESPACE || field.children.length > 0) throw SoapFault.client(`Element ${qualified(field)} invalid at this location`);
    if (UNMODELLED_LEAD_CONVERT_FIELDS.has(name)) throw SoapFault.client(`LeadConvert.${name} is not modelled by the sandbox`);
    if (!LEAD_CONVERT_FIELDS.has(name)) throw SoapFault.client(`Element ${qualified(field)} invalid at this location`);
    if (name in values) throw SoapFault.client(`Element ${qualified(field)} appears twice in one LeadConvert`);
    if (isNil(field)) continue;
    values[name] = isBooleanLeadConvertField(name) ? xsdBoolean(field) : field.text;
  }
  return values;
}

export type LeadConvertOutcome = { ok: true; result: LeadConvertResult } | { ok: false; errors: readonly SalesforceErrorEntry[] };

const idElement = (name: string, id: string | null): string => (id === null ? `<${name} xsi:nil="true"/>` : `<${name}>${escapeXml(id)}</${name}>`);

function errorXml(error: SalesforceErrorEntry): string {
  const fields = (error.fields ?? []).map((field) => `<fields>${escapeXml(field)}</fields>`).join('');
  return `<errors>${fields}<message>${escapeXml(error.message)}</message><statusCode>${escapeXml(error.errorCode)}</statusCode></errors>`;
}

/** A LeadConvertResult in the partner WSDL's element order (accountId, contactId, errors, leadId, opportunityId, success). */
function resultXml(outcome: LeadConvertOutcome): string {
  if (!outcome.ok) {
    return `<result>${idElement('accountId', null)}${idElement('contactId', null)}${outcome.errors.map(errorXml).join('')}${idElement('leadId', null)}${idElement('opportunityId', null)}<success>false</success></result>`;
  }
  const { result } = outcome;
  return `<result>${idElement('accountId', result.accountId)}${idElement('contactId', result.contactId)}${idElement('leadId', result.leadId)}${idElement('opportunityId', result.opportunityId)}<success>true</success></result>`;
}

/** `namespaces`: the declarations besides soapenv (the partner namespace by default for results; none for faults, whose
 * faultcode and faultstring are unqualified in SOAP 1.1). */
function envelope(namespaces: string, header: string, body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<soapenv:Envelope xmlns:soapenv="${SOAP_ENVELOPE_NAMESPACE}" ${namespaces} xmlns:xsi="${XSI_NAMESPACE}">` +
    (header === '' ? '' : `<soapenv:Header>${header}</soapenv:Header>`) +
    `<soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
  );
}

/** The response, with the `LimitInfoHeader` Salesforce adds to every call (SOAP API "LimitInfoHeader"). */
export function convertLeadResponseXml(outcomes: readonly LeadConvertOutcome[], usage: { used: number; max: number }): string {
  const limitInfo = `<LimitInfoHeader><limitInfo><current>${usage.used}</current><limit>${usage.max}</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader>`;
  return envelope(`xmlns="${PARTNER_NAMESPACE}"`, limitInfo, `<convertLeadResponse>${outcomes.map(resultXml).join('')}</convertLeadResponse>`);
}

export function faultXml(fault: SoapFault): string {
  const faultString = fault.exceptionCode === undefined ? fault.message : `${fault.exceptionCode}: ${fault.message}`;
  const detail =
    fault.exceptionCode === undefined
      ? ''
      : `<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault"><sf:exceptionCode>${escapeXml(fault.exceptionCode)}</sf:exceptionCode><sf:exceptionMessage>${escapeXml(fault.message)}</sf:exceptionMessage></sf:UnexpectedErrorFault></detail>`;
  return envelope(`xmlns:sf="${FAULT_NAMESPACE}"`, '', `<soapenv:Fault><faultcode>${escapeXml(fault.faultCode)}</faultcode><faultstring>${escapeXml(faultString)}</faultstring>${detail}</soapenv:Fault>`);
}
