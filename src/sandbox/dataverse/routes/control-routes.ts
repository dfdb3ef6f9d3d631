import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { crmSeedSchema } from '../../shared/crm-seed.ts';
import { deliveryLogRoutes } from '../../shared/delivery-log.ts';
import { selectedNames } from '../../shared/http-request.ts';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { SANDBOX_USERS, sellerCaller, type Caller } from '../auth/users.ts';
import type { DataverseContext } from '../context.ts';
import { isEntityReference, type StoredRecord } from '../data/record.ts';
import type { WriteContext } from '../data/record-service.ts';
import { sampleAccount, sampleContact, sampleLead, sampleOpportunity } from '../data/sample-data.ts';
import { stateOfStatus } from '../data/state-rules.ts';
import { isGuid, normalizeGuid } from '../data/value-codec.ts';
import { badRequest, recordNotFound, segmentNotFound } from '../errors.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import { AnnotationFilter } from '../odata/prefer.ts';
import { EventCollector } from '../webhooks/events.ts';
import { param } from './http-helpers.ts';


const ALL_ANNOTATIONS = new AnnotationFilter('*');
const NO_ANNOTATIONS = new AnnotationFilter(undefined);

/**
 * The sandbox control API (no auth): seed and reset data, act as a seller in the CRM UI, and inspect webhook
 * deliveries. Request counts and faults are served by the shared plumbing under the same prefix.
 */
export function registerControlRoutes(app: FastifyInstance, ctx: DataverseContext): void {
  const { registry, store, inputs, records, renderer } = ctx.services;

  const entityOf = (request: FastifyRequest): EntityDefinition => {
    const set = param(request, 'entitySet');
    const entity = registry.entityBySet(set);
    if (!entity) throw segmentNotFound(set);
    return entity;
  };

  /** A seller by default; `x-sandbox-user-id` picks another sandbox user (see GET /_sandbox/users). */
  const sellerOf = (request: FastifyRequest): Caller => {
    const chosen = request.headers['x-sandbox-user-id'];
    if (typeof chosen !== 'string' || chosen === '') return sellerCaller();
    const id = normalizeGuid(chosen);
    if (!isGuid(id) || !store.get('systemuser', id)) throw badRequest(`x-sandbox-user-id ${chosen} is not a sandbox user; see GET /_sandbox/users.`);
    return sellerCaller(id);
  };

  const writeContext = (caller: Caller, events: EventCollector): WriteContext => ({ caller, events, correlationId: randomUUID() });
  const render = (entity: EntityDefinition, record: StoredRecord): Record<string, unknown> => renderer.render(entity, record, { annotations: ALL_ANNOTATIONS });
  const rowOf = (entity: EntityDefinition, request: FastifyRequest): StoredRecord => {
    const id = param(request, 'id');
    const record = isGuid(normalizeGuid(id)) ? store.get(entity.logicalName, normalizeGuid(id)) : undefined;
    if (!record) throw recordNotFound(entity.logicalName, id);
    return record;
  };

  app.get('/_sandbox/users', async () => ({ value: ctx.users, application: SANDBOX_USERS.application.id, seller: SANDBOX_USERS.seller.id }));

  app.post('/_sandbox/seed', async (request, reply) => {
    const parsed = parseWithProblems(crmSeedSchema, request.body ?? {});
    if (!parsed.ok) throw badRequest(`Invalid seed request: ${summarizeProblems(parsed.problems)}`);
    const seed = parsed.value;
    const events = new EventCollector();
    const context = writeContext(sellerCaller(), events);
    const created = { accounts: [] as string[], contacts: [] as string[], opportunities: [] as string[], leads: [] as string[] };
    const make = (set: keyof typeof created, body: Record<string, unknown>): string => {
      const entity = registry.requireEntityBySet(set);
      const record = records.create(entity, inputs.parse(entity, body), context);
      created[set].push(record.id);
      return record.id;
    };
    const rows = (value: number | Array<Record<string, unknown>> | undefined, generate: (sequence: number, index: number) => Record<string, unknown>) =>
      typeof value === 'number' ? Array.from({ length: value }, (_, index) => generate(ctx.nextSampleSequence(), index)) : (value ?? []);
    store.transaction(() => {
      for (const body of rows(seed.accounts, (sequence) => sampleAccount(sequence))) make('accounts', body);
      const accounts = created.accounts.length > 0 ? created.accounts : store.all('account').map((row) => row.id);
      for (const body of rows(seed.contacts, (sequence, index) => sampleContact(sequence, accounts[index % Math.max(accounts.length, 1)]))) make('contacts', body);
      const contacts = created.contacts.length > 0 ? created.contacts : store.all('contact').map((row) => row.id);
      for (const body of rows(seed.opportunities, (sequence, index) => {
        const accountId = accounts[index % Math.max(accounts.length, 1)];
        const accountName = accountId ? store.get('account', accountId)?.values.name : undefined;
        return sampleOpportunity(sequence, accountId, contacts[index % Math.max(contacts.length, 1)], typeof accountName === 'string' ? accountName : undefined);
      })) make('opportunities', body);
      for (const body of rows(seed.leads, (sequence) => sampleLead(sequence))) make('leads', body);
    });
    if (seed.events === true) ctx.publisher.publish(events.drain());
    return reply.code(201).send({ created });
  });

  app.delete('/_sandbox/data', async (request) => {
    const metadata = (request.query as Record<string, unknown>).metadata === 'true';
    return { deleted: ctx.resetData({ metadata }), metadataReset: metadata };
  });

  // `?select=a,b`: only those columns, without annotations — what a benchmark polling thousands of records needs,
  // at a fraction of the rendering it would otherwise take from the sandbox it measures.
  app.get('/_sandbox/records/:entitySet', async (request) => {
    const entity = entityOf(request);
    const select = selectedNames(request);
    const options = select ? { annotations: NO_ANNOTATIONS, select } : { annotations: ALL_ANNOTATIONS };
    const value = store.all(entity.logicalName).sort((a, b) => a.sequence - b.sequence).map((row) => renderer.render(entity, row, options));
    return { count: value.length, value };
  });

  app.post('/_sandbox/records/:entitySet', async (request, reply) => {
    const entity = entityOf(request);
    const events = new EventCollector();
    const record = records.create(entity, inputs.parse(entity, request.body), writeContext(sellerOf(request), events));
    ctx.publisher.publish(events.drain());
    return reply.code(201).send(render(entity, record));
  });

  /**
   * A seller edits a row. Closing an open opportunity (statecode 1/2 or a won/lost statuscode) goes through the same
   * Win/Lose path the CRM UI uses, after the other changed columns are saved.
   */
  app.patch('/_sandbox/records/:entitySet/:id', async (request, reply) => {
    const entity = entityOf(request);
    const existing = rowOf(entity, request);
    const events = new EventCollector();
    const context = writeContext(sellerOf(request), events);
    const input = inputs.parse(entity, request.body);
    const targetState = typeof input.values.statecode === 'number' ? input.values.statecode : typeof input.values.statuscode === 'number' ? stateOfStatus(entity, input.values.statuscode) : undefined;
    const closing = entity.logicalName === 'opportunity' && existing.values.statecode === 0 && (targetState === 1 || targetState === 2);
    store.transaction(() => {
      if (!closing) {
        records.update(entity, existing, input, context);
        return;
      }
      const { statecode: _state, statuscode: status, ...rest } = input.values;
      const others = input.sent.filter((name) => name !== 'statecode' && name !== 'statuscode');
      if (others.length > 0) records.update(entity, existing, { values: rest, sent: others }, context);
      const outcome = targetState === 1 ? 'Win' : 'Lose';
      const closeStatus = typeof status === 'number' ? status : targetState === 1 ? 3 : 4;
      ctx.services.closer.close(outcome, { Status: closeStatus, OpportunityClose: { 'opportunityid@odata.bind': `/opportunities(${existing.id})` } }, context);
    });
    ctx.publisher.publish(events.drain());
    const updated = store.get(entity.logicalName, existing.id);
    return reply.code(200).send(updated ? render(entity, updated) : null);
  });

  app.delete('/_sandbox/records/:entitySet/:id', async (request, reply) => {
    const entity = entityOf(request);
    const existing = rowOf(entity, request);
    const events = new EventCollector();
    records.delete(entity, existing, writeContext(sellerOf(request), events));
    ctx.publisher.publish(events.drain());
    return reply.code(204).send();
  });

  deliveryLogRoutes(app, '/_sandbox/webhooks/deliveries', ctx.sender.deliveries);

  /** Shape of the contexts the webhooks send: `closePrimaryEntityId` `record` | `empty` (Win / Lose, see ClosePrimaryEntityId). */
  app.put('/_sandbox/webhooks/shape', async (request, reply) => {
    const body = z.object({ closePrimaryEntityId: z.enum(['record', 'empty']) }).strict().safeParse(request.body);
    if (!body.success) return reply.code(400).send({ error: { code: 'invalid_request', message: 'closePrimaryEntityId must be "record" or "empty"' } });
    ctx.publisher.setClosePrimaryEntityId(body.data.closePrimaryEntityId);
    return body.data;
  });

  /** Webhook registrations as the org sees them: endpoint, message, table and filtering attributes per step. */
  app.get('/_sandbox/webhooks/steps', async () => {
    const value = store.all('sdkmessageprocessingstep').map((step) => {
      const message = step.values.sdkmessageid;
      const filter = step.values.sdkmessagefilterid;
      const handler = step.values.eventhandler;
      return {
        id: step.id,
        name: step.values.name,
        message: isEntityReference(message) ? store.get('sdkmessage', message.id)?.values.name : null,
        entity: isEntityReference(filter) ? store.get('sdkmessagefilter', filter.id)?.values.primaryobjecttypecode : null,
        url: isEntityReference(handler) ? store.get('serviceendpoint', handler.id)?.values.url : null,
        filteringattributes: step.values.filteringattributes ?? null,
        enabled: step.values.statecode === 0,
      };
    });
    return { count: value.length, value };
  });
}
