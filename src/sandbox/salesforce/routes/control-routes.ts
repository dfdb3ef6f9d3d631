import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { crmSeedSchema } from '../../shared/crm-seed.ts';
import { deliveryLogRoutes } from '../../shared/delivery-log.ts';
import { selectedNames } from '../../shared/http-request.ts';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { ALL_USERS, SANDBOX_USERS, userById, type SandboxUser } from '../auth/users.ts';
import type { ChangeEventType } from '../cdc/change-event-builder.ts';
import type { SalesforceContext } from '../context.ts';
import { ChangeCollector, type WriteContext } from '../data/record-changes.ts';
import type { StoredRecord } from '../data/record-store.ts';
import { renderRecord } from '../data/record-wire.ts';
import { sampleAccount, sampleContact, sampleLead, sampleOpportunity } from '../data/sample-data.ts';
import { badRequest, ErrorCode, resourceNotFound } from '../errors.ts';
import { parseOutboundMessage } from '../outbound/outbound-definitions.ts';
import type { SObjectType } from '../schema/object-model.ts';
import { FORECAST_CATEGORIES, OPPORTUNITY_RELATED_OBJECTS, WRITABLE_OBJECTS } from '../schema/standard-objects.ts';
import { KEY_PREFIX, toId18 } from '../ids.ts';


const stageSchema = z
  .object({
    apiName: z.string().min(1).max(255),
    label: z.string().min(1).max(255).optional(),
    isActive: z.boolean().optional(),
    isClosed: z.boolean(),
    isWon: z.boolean(),
    defaultProbability: z.number().min(0).max(100),
    forecastCategoryName: z.enum(FORECAST_CATEGORIES.map((category) => category.name) as [string, ...string[]]).optional(),
    sortOrder: z.number().int().min(1).optional(),
    description: z.string().max(255).optional(),
  })
  .strict()
  .refine((stage) => stage.isClosed || !stage.isWon, { message: 'a won stage must also be closed', path: ['isWon'] });

const GAP_TYPES = ['GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW'] as const;

const gapSchema = z
  .object({
    entity: z.enum([...WRITABLE_OBJECTS, 'OpportunityContactRole']),
    changeType: z.enum(GAP_TYPES).optional(),
    recordIds: z.array(z.string()).optional(),
  })
  .strict();

/**
 * People of the org other than the two sandbox users: owners and opportunity team members to look up by Email (they
 * cannot sign in). Object Reference "User": Username is unique across Salesforce; IsActive false = deactivated.
 */
const seedUserSchema = z
  .object({
    firstName: z.string().max(40).optional(),
    lastName: z.string().min(1).max(80),
    email: z.string().email().max(80),
    username: z.string().min(1).max(80).optional(),
    isActive: z.boolean().optional(),
    alias: z.string().min(1).max(8).optional(),
  })
  .strict();
const seedUsersSchema = z.object({ users: z.array(seedUserSchema).min(1).max(500) }).strict();
const userPatchSchema = z.object({ isActive: z.boolean().optional(), email: z.string().email().max(80).optional() }).strict();

const limitsSchema = z.object({ used: z.number().int().min(0).optional(), max: z.number().int().min(1).optional() }).strict();
const tokenSchema = z.object({ user: z.enum(['integration', 'seller']).optional() }).strict();

/** Overflow events name no particular record; Salesforce uses this wildcard id (UNCONFIRMED). */
const OVERFLOW_RECORD_ID = '000000000000000AAA';

/**
 * What a seller's edit in Lightning looks like in `changeOrigin` (the Change Data Capture Developer Guide sample): no
 * client tag of ours.
 */
export function uiChangeOrigin(version: string): string {
  return `com/salesforce/api/soap/${version};client=SfdcInternalAPI/`;
}

function parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const parsed = parseWithProblems(schema, body ?? {});
  if (!parsed.ok) throw badRequest(ErrorCode.InvalidInput, `Invalid ${what}: ${summarizeProblems(parsed.problems)}`);
  return parsed.value;
}

/**
 * The sandbox control API (no auth): seed and reset data, act as a seller in the CRM UI (writes as the seller raise
 * change events and outbound messages like real edits), add stages, inject CDC gap events, define outbound messages and
 * read their delivery log, mint or expire sessions, and set the API allocation. Request counts and faults are served
 * by the shared plumbing under the same prefix.
 */
export function registerControlRoutes(app: FastifyInstance, ctx: SalesforceContext): void {
  const { records, store } = ctx;

  /** Any object may be listed; writes to read-only ones fail in the record service like API writes do. */
  const writableType = (request: FastifyRequest): SObjectType => records.requireType((request.params as { sobject: string }).sobject);

  /** The seller by default; `x-sandbox-user-id` picks another sandbox user (see GET /_sandbox/users). */
  const actingUser = (request: FastifyRequest): SandboxUser => {
    const chosen = request.headers['x-sandbox-user-id'];
    if (typeof chosen !== 'string' || chosen === '') return SANDBOX_USERS.seller;
    const user = userById(toId18(chosen) ?? chosen);
    if (!user) throw badRequest(ErrorCode.InvalidInput, `x-sandbox-user-id ${chosen} is not a sandbox user; see GET /_sandbox/users.`);
    return user;
  };

  const sellerWrite = (user: SandboxUser): WriteContext => ({ userId: user.id, changeOrigin: uiChangeOrigin(ctx.apiVersion), changes: new ChangeCollector() });
  const render = (type: SObjectType, record: StoredRecord): Record<string, unknown> => renderRecord(type, record, ctx.apiVersion);
  const rowOf = (type: SObjectType, request: FastifyRequest): StoredRecord => records.requireRecord(type, (request.params as { id: string }).id, { allowDeleted: true });

  const fixedUserIds = new Set(ALL_USERS.map((user) => user.id));
  app.get('/_sandbox/users', async () => {
    const userType = records.requireType('User');
    const seeded = store.all('User').filter((row) => !fixedUserIds.has(row.id)).sort((a, b) => a.sequence - b.sequence).map((row) => render(userType, row));
    return { value: ALL_USERS, integration: SANDBOX_USERS.integration.id, seller: SANDBOX_USERS.seller.id, seeded };
  });

  /** Adds User rows (read-only through the API, as for an integration user without "Manage Users"). */
  app.post('/_sandbox/users', async (request, reply) => {
    const { users } = parse(seedUsersSchema, request.body, 'users');
    const userType = records.requireType('User');
    const at = Date.now();
    const created = store.transaction(() =>
      users.map((user) => {
        const username = (user.username ?? user.email).toLowerCase();
        const clash = store.all('User').find((row) => String(row.values.Username).toLowerCase() === username);
        if (clash) throw badRequest(ErrorCode.DuplicateValue, `duplicate value found: Username duplicates value on record with id: ${clash.id}`, ['Username']);
        const id = ctx.ids.next(KEY_PREFIX.User);
        const name = [user.firstName, user.lastName].filter((part) => part !== undefined && part !== '').join(' ');
        const row: StoredRecord = {
          id,
          sobject: 'User',
          deletedAt: null,
          sequence: store.nextSequence(),
          values: {
            Id: id,
            Username: username,
            FirstName: user.firstName ?? null,
            LastName: user.lastName,
            Name: name,
            Alias: user.alias ?? user.lastName.slice(0, 8).toLowerCase(),
            Email: user.email,
            IsActive: user.isActive ?? true,
            UserType: 'Standard',
            ...(ctx.currency.multiCurrency ? { DefaultCurrencyIsoCode: ctx.currency.corporateCurrency } : {}),
            IsDeleted: false,
            CreatedDate: at,
            CreatedById: SANDBOX_USERS.integration.id,
            LastModifiedDate: at,
            LastModifiedById: SANDBOX_USERS.integration.id,
            SystemModstamp: at,
          },
        };
        store.put(row);
        return render(userType, row);
      }),
    );
    return reply.code(201).send({ created });
  });

  /** Deactivate/reactivate or re-address a seeded user, as an admin does in Setup (the two sandbox users stay as they are). */
  app.patch('/_sandbox/users/:id', async (request) => {
    const patch = parse(userPatchSchema, request.body, 'user change');
    const userType = records.requireType('User');
    const row = records.requireRecord(userType, (request.params as { id: string }).id);
    if (fixedUserIds.has(row.id)) throw badRequest(ErrorCode.InvalidInput, 'The integration and seller users cannot be changed');
    const now = Math.max(Date.now(), Number(row.values.SystemModstamp ?? 0));
    const values = { ...row.values, ...(patch.isActive !== undefined ? { IsActive: patch.isActive } : {}), ...(patch.email !== undefined ? { Email: patch.email } : {}), LastModifiedDate: now, SystemModstamp: now };
    const updated: StoredRecord = { ...row, values };
    store.put(updated);
    return render(userType, updated);
  });
  app.get('/_sandbox/organization', async () => ({ id: ctx.organizationId, apiVersion: ctx.apiVersion, multiCurrency: ctx.currency.multiCurrency, corporateCurrency: ctx.currency.corporateCurrency }));

  app.post('/_sandbox/tokens', async (request, reply) => {
    const { user = 'integration' } = parse(tokenSchema, request.body, 'token request');
    const { accessToken, issuedAt } = ctx.sessions.issue(SANDBOX_USERS[user]);
    return reply.code(201).send({ access_token: accessToken, instance_url: ctx.baseUrl(), token_type: 'Bearer', issued_at: String(issuedAt), user_id: SANDBOX_USERS[user].id });
  });
  app.delete('/_sandbox/tokens', async (request) => {
    const user = (request.query as Record<string, string | undefined>).user;
    if (user !== undefined && user !== 'integration' && user !== 'seller') throw badRequest(ErrorCode.InvalidInput, 'user must be integration or seller');
    return { revoked: ctx.sessions.revokeAll(user === undefined ? undefined : SANDBOX_USERS[user].id) };
  });

  app.get('/_sandbox/limits', async () => ctx.usage.snapshot());
  app.post('/_sandbox/limits', async (request) => {
    const { used, max } = parse(limitsSchema, request.body, 'limits');
    if (used !== undefined) ctx.usage.used = used;
    if (max !== undefined) ctx.usage.max = max;
    return ctx.usage.snapshot();
  });

  app.post('/_sandbox/seed', async (request, reply) => {
    const seed = parse(crmSeedSchema, request.body, 'seed request');
    const write = sellerWrite(SANDBOX_USERS.seller);
    const created = { accounts: [] as string[], contacts: [] as string[], opportunities: [] as string[], leads: [] as string[] };
    const rows = (value: number | Array<Record<string, unknown>> | undefined, generate: (sequence: number, index: number) => Record<string, unknown>) =>
      typeof value === 'number' ? Array.from({ length: value }, (_, index) => generate(ctx.nextSampleSequence(), index)) : (value ?? []);
    const make = (sobject: string, list: string[], body: Record<string, unknown>): void => {
      list.push(records.create(records.requireType(sobject), body, write).id);
    };
    store.transaction(() => {
      for (const body of rows(seed.accounts, (sequence) => sampleAccount(sequence))) make('Account', created.accounts, body);
      const accounts = created.accounts.length > 0 ? created.accounts : store.all('Account').map((row) => row.id);
      for (const body of rows(seed.contacts, (sequence, index) => sampleContact(sequence, accounts[index % Math.max(accounts.length, 1)]))) make('Contact', created.contacts, body);
      const contacts = created.contacts.length > 0 ? created.contacts : store.all('Contact').map((row) => row.id);
      for (const body of rows(seed.opportunities, (sequence, index) => {
        const accountId = accounts[index % Math.max(accounts.length, 1)];
        const accountName = accountId ? store.get('Account', accountId)?.values.Name : undefined;
        return sampleOpportunity(sequence, accountId, contacts[index % Math.max(contacts.length, 1)], typeof accountName === 'string' ? accountName : undefined);
      })) make('Opportunity', created.opportunities, body);
      for (const body of rows(seed.leads, (sequence) => sampleLead(sequence))) make('Lead', created.leads, body);
    });
    const changes = write.changes.drain();
    if (seed.events === true) ctx.publisher.publish(changes);
    return reply.code(201).send({ created });
  });

  app.delete('/_sandbox/data', async (request) => {
    const metadata = (request.query as Record<string, unknown>).metadata === 'true';
    let deleted = store.clear([...WRITABLE_OBJECTS, ...OPPORTUNITY_RELATED_OBJECTS, ...ctx.tooling.customObjectNames()]);
    // Seeded users are test data too; the integration and seller users stay.
    for (const row of store.all('User', { includeDeleted: true }).filter((candidate) => !fixedUserIds.has(candidate.id))) {
      store.purge('User', row.id);
      deleted += 1;
    }
    ctx.cursors.clear();
    if (metadata) {
      ctx.tooling.reset();
      store.clear(['OpportunityStage']);
      ctx.stages.seedDefaults();
      ctx.outbound.clearDefinitions();
    }
    return { deleted, metadataReset: metadata };
  });

  app.get('/_sandbox/records/:sobject', async (request) => {
    const type = writableType(request);
    const includeDeleted = (request.query as Record<string, unknown>).includeDeleted === 'true';
    // `?select=A,B`: only those fields (see the Dataverse sandbox's list route).
    const select = selectedNames(request);
    const fields = select ? type.fields.filter((field) => select.includes(field.name)) : type.fields;
    const value = store.all(type.name, { includeDeleted }).sort((a, b) => a.sequence - b.sequence).map((row) => renderRecord(type, row, ctx.apiVersion, fields));
    return { count: value.length, value };
  });

  app.post('/_sandbox/records/:sobject', async (request, reply) => {
    const type = writableType(request);
    const write = sellerWrite(actingUser(request));
    const record = store.transaction(() => records.create(type, request.body, write));
    ctx.publisher.publish(write.changes.drain());
    return reply.code(201).send(render(type, record));
  });

  app.patch('/_sandbox/records/:sobject/:id', async (request) => {
    const type = writableType(request);
    const write = sellerWrite(actingUser(request));
    const record = store.transaction(() => records.update(type, rowOf(type, request), request.body, write));
    ctx.publisher.publish(write.changes.drain());
    return render(type, record);
  });

  app.delete('/_sandbox/records/:sobject/:id', async (request, reply) => {
    const type = writableType(request);
    const write = sellerWrite(actingUser(request));
    store.transaction(() => records.delete(type, rowOf(type, request), write));
    ctx.publisher.publish(write.changes.drain());
    return reply.code(204).send();
  });

  app.post('/_sandbox/records/:sobject/:id/undelete', async (request) => {
    const type = writableType(request);
    const write = sellerWrite(actingUser(request));
    const record = store.transaction(() => records.undelete(type, rowOf(type, request), write));
    ctx.publisher.publish(write.changes.drain());
    return render(type, record);
  });

  app.get('/_sandbox/stages', async () => {
    const type = records.requireType('OpportunityStage');
    const value = ctx.stages.all().map((row) => render(type, row));
    return { count: value.length, value };
  });

  /** A custom stage, as an admin adds one to the sales process; it joins the StageName picklist at once. */
  app.post('/_sandbox/stages', async (request, reply) => {
    const stage = parse(stageSchema, request.body, 'stage');
    if (ctx.stages.find(stage.apiName)) throw badRequest(ErrorCode.DuplicateValue, `A stage named ${stage.apiName} already exists`, ['apiName']);
    const record = ctx.stages.add({
      apiName: stage.apiName,
      label: stage.label ?? stage.apiName,
      isActive: stage.isActive ?? true,
      isClosed: stage.isClosed,
      isWon: stage.isWon,
      defaultProbability: stage.defaultProbability,
      forecastCategoryName: stage.forecastCategoryName ?? (stage.isWon ? 'Closed' : stage.isClosed ? 'Omitted' : 'Pipeline'),
      sortOrder: stage.sortOrder ?? ctx.stages.nextSortOrder(),
      description: stage.description ?? null,
    });
    return reply.code(201).send(render(records.requireType('OpportunityStage'), record));
  });

  /**
   * Injects a gap or overflow event (Change Data Capture Developer Guide): subscribers must re-read the records named
   * (or everything, for overflow).
   */
  app.post('/_sandbox/cdc/gap', async (request, reply) => {
    const gap = parse(gapSchema, request.body, 'gap event');
    const type = records.requireType(gap.entity);
    if (!type.capabilities.changeEvents) throw badRequest(ErrorCode.InvalidInput, `${type.name} has no change events`);
    const changeType: ChangeEventType = gap.changeType ?? 'GAP_UPDATE';
    const recordIds =
      changeType === 'GAP_OVERFLOW'
        ? [OVERFLOW_RECORD_ID]
        : (gap.recordIds ?? store.all(type.name).map((row) => row.id)).map((id) => toId18(id) ?? id);
    const event = ctx.publisher.gap(type, changeType, recordIds, SANDBOX_USERS.seller.id);
    return reply.code(201).send(event);
  });

  app.get('/_sandbox/cdc/events', async () => {
    const value = ctx.events.retained();
    return { count: value.length, latestReplayId: ctx.events.latestReplayId(), subscribers: ctx.cometd.clientCount(), value };
  });

  app.post('/_sandbox/outbound-messages', async (request, reply) => {
    const definition = parseOutboundMessage(request.body, ctx.registry, ctx.ids);
    ctx.outbound.define(definition);
    return reply.code(201).send(definition);
  });
  app.get('/_sandbox/outbound-messages', async () => {
    const value = ctx.outbound.list();
    return { count: value.length, organizationId: ctx.organizationId, value };
  });
  app.delete('/_sandbox/outbound-messages/:id', async (request, reply) => {
    if (!ctx.outbound.remove((request.params as { id: string }).id)) throw resourceNotFound();
    return reply.code(204).send();
  });
  deliveryLogRoutes(app, '/_sandbox/outbound-messages/deliveries', ctx.outbound.queue);
}
