import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SalesforceContext } from '../context.ts';
import { resourceNotFound } from '../errors.ts';
import { sendError } from './http-helpers.ts';

/**
 * The Streaming API endpoint `/cometd/<version>` (Change Data Capture Developer Guide). CometD clients other than faye
 * post to per-channel sub-paths (`/cometd/62.0/meta/connect`), so those are accepted too.
 */
export function registerCometdRoutes(app: FastifyInstance, ctx: SalesforceContext): void {
  const pinnedMajor = Number.parseInt(ctx.apiVersion, 10);
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const version = (request.params as { version?: string }).version ?? '';
    const major = /^(\d+)\.0$/.exec(version)?.[1];
    if (!major || Number(major) < 20 || Number(major) > pinnedMajor) return sendError(reply, resourceNotFound());
    const aborted = new AbortController();
    // A long poll whose caller hung up must stop waiting, or it would swallow the events meant for the next poll.
    reply.raw.on('close', () => aborted.abort());
    const replies = await ctx.cometd.handle(request.body, request.headers.authorization, aborted.signal);
    return reply.code(200).type('application/json;charset=UTF-8').send(JSON.stringify(replies));
  };
  app.post('/cometd/:version', handler);
  app.post('/cometd/:version/*', handler);
}
