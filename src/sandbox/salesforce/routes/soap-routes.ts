import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SalesforceContext } from '../context.ts';
import { LeadConverter } from '../data/lead-conversion.ts';
import { ChangeCollector, type WriteContext } from '../data/record-changes.ts';
import { SalesforceError } from '../errors.ts';
import { OLDEST_VERSION } from './rest-routes.ts';
import { convertLeadResponseXml, faultXml, isCall, readLeadConverts, readSoapCall, SoapFault, unknownCallFault, type LeadConvertOutcome } from './soap-envelope.ts';

/**
 * A convertLead call of 100 leads is ~60 KiB; Salesforce accepts SOAP requests up to 50 MB ("API Request Limits and
 * Allocations"), which the sandbox has no reason to read.
 */
export const SOAP_BODY_LIMIT_BYTES = 1024 * 1024;

const SOAP_VERSION = /^(\d+)\.0$/;

/**
 * `com/salesforce/api/soap/62.0;client=<name>` (Change Data Capture Developer Guide, `changeOrigin`): a SOAP API write,
 * tagged with the CallOptions client when the caller sent one.
 */
export function soapChangeOrigin(version: string, client: string | undefined): string {
  return `com/salesforce/api/soap/${version}${client ? `;client=${client}` : ''}`;
}

function sendFault(reply: FastifyReply, fault: SoapFault): FastifyReply {
  return reply.code(fault.httpStatus).type('text/xml;charset=UTF-8').send(faultXml(fault));
}

/**
 * The Partner SOAP API endpoint (`/services/Soap/u/<version>[/<org id>]`, the URL jsforce's `conn.soap` posts to)
 * serving `convertLead()` (SOAP API Developer Guide "convertLead()") — how a seller's tool or an integration converts a
 * lead. The session comes from `SessionHeader/sessionId` (jsforce sends no Authorization header on SOAP calls) and
 * must be one the sandbox issued, like REST; the call counts against the daily API allocation. Each LeadConvert
 * succeeds or fails on its own (partial success, the SOAP default without AllOrNoneHeader); the committed ones raise
 * their change events and outbound messages as one transaction's worth.
 */
export function registerSoapRoutes(app: FastifyInstance, ctx: SalesforceContext): void {
  const pinnedMajor = Number.parseInt(ctx.apiVersion, 10);
  const converter = new LeadConverter(ctx.records, ctx.store, ctx.stages);

  const servedVersion = (raw: string): string | undefined => {
    const match = SOAP_VERSION.exec(raw);
    const major = Number(match?.[1]);
    return match && major >= OLDEST_VERSION && major <= pinnedMajor ? `${major}.0` : undefined;
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const version = servedVersion((request.params as { version: string }).version);
    // The wording Salesforce gives a version it does not serve (UNCONFIRMED for SOAP).
    if (!version) throw SoapFault.api('UNSUPPORTED_API_VERSION', 'Invalid Api version specified on URL');
    if (typeof request.body !== 'string') throw SoapFault.client('Expected a SOAP 1.1 envelope (Content-Type: text/xml)', 415);
    const call = readSoapCall(request.body);
    if (!isCall(call.operation, 'convertLead')) throw unknownCallFault(call.operation);
    const user = call.sessionId === undefined ? undefined : ctx.sessions.resolve(call.sessionId);
    if (!user) throw SoapFault.api('INVALID_SESSION_ID', 'Invalid Session ID found in SessionHeader: Illegal Session');
    const leadConverts = readLeadConverts(call.operation);
    if (!ctx.usage.consume()) throw SoapFault.api('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');

    const write: WriteContext = { userId: user.id, changeOrigin: soapChangeOrigin(version, call.client), changes: new ChangeCollector() };
    const outcomes: LeadConvertOutcome[] = [];
    try {
      for (const leadConvert of leadConverts) {
        const mark = write.changes.mark();
        try {
          outcomes.push({ ok: true, result: converter.convert(leadConvert, write) });
        } catch (error) {
          // The lead's transaction rolled back; so do the changes it announced.
          write.changes.rollbackTo(mark);
          if (!(error instanceof SalesforceError)) throw error;
          outcomes.push({ ok: false, errors: error.entries });
        }
      }
    } finally {
      // Events fire on commit: every lead converted so far committed, whatever happens to the rest.
      ctx.publisher.publish(write.changes.drain());
    }
    return reply.code(200).type('text/xml;charset=UTF-8').send(convertLeadResponseXml(outcomes, ctx.usage.snapshot()));
  };

  // Its own scope: XML bodies, a smaller body limit and faults instead of the REST error array.
  void app.register(async (soap) => {
    soap.addContentTypeParser('text/xml', { parseAs: 'string', bodyLimit: SOAP_BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));
    soap.setErrorHandler((error: Error, request, reply) => {
      if (error instanceof SoapFault) return sendFault(reply, error);
      const status = 'statusCode' in error && typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status >= 500) {
        request.log.error({ err: error }, 'Salesforce sandbox SOAP call failed');
        return sendFault(reply, SoapFault.api('UNKNOWN_EXCEPTION', 'An unexpected error occurred. Please include this ErrorId if you contact support.'));
      }
      return sendFault(reply, SoapFault.client(error.message, status));
    });
    const options = { bodyLimit: SOAP_BODY_LIMIT_BYTES };
    soap.post('/services/Soap/u/:version', options, handler);
    soap.post('/services/Soap/u/:version/:organizationId', options, handler);
  });
}
