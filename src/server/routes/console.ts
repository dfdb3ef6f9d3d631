import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { DEAL_STATES, type DeadLetter, type HeldConflict, type Store } from '../../store/types.ts';
import type { Engine } from '../../sync/engine.ts';
import type { DealsResponse, ErrorResponse, OverviewResponse, PairResponse, PauseResponse, RegistrationCheckResponse } from '../admin-api.ts';
import { CONSOLE_CSS, CONSOLE_JS } from '../console/assets.ts';
import { buildOverview } from '../console/overview.ts';
import { noRecordLinks, urlsOf, type RecordLinks } from '../console/record-links.ts';
import { dealsPage, overviewPage, overviewSection, pairPage } from '../console/views.ts';
import { mappingPage, type MappingConnection } from '../console/mapping-view.ts';
import { problemsPage, problemsSection } from '../console/problems-view.ts';
import type { CrmEntityName } from '../../crm/connector.ts';
import { previewMapping, type MappingPreview } from '../../sync/mapping-preview.ts';
import { agreedValues } from '../../sync/plan/bookkeeping-keys.ts';
import { showPauseInCrm } from '../../sync/pause-status.ts';
import type { ReferralsPort } from '../../sync/ports.ts';
import type { Readiness } from '../readiness.ts';
import type { RegistrationWatch } from '../console/registration-watch.ts';

export type { RecordLinks } from '../console/record-links.ts';

/** A pair page shows this much history; the full trail stays at /api/audit. */
export const PAIR_AUDIT_LIMIT = 200;
const PAIR_DEAD_LETTER_LIMIT = 50;
const OVERVIEW_ROWS = 50;
const CLOSED_ROWS = 10;
/** Rows per table on the dead letters & conflicts page (bulk replay takes at most MAX_BULK_REPLAY ids a request). */
const PROBLEM_ROWS = 100;
/** Deep pages are what search is for: OFFSET work stays bounded. */
export const MAX_DEAL_PAGE = 400;
export const MAX_DEAL_PAGE_SIZE = 100;
export const MAX_SEARCH_LENGTH = 100;

const dealsQuery = z
  .object({
    q: z.string().trim().max(MAX_SEARCH_LENGTH).default(''),
    state: z.union([z.enum(DEAL_STATES), z.literal('')]).optional(),
    connection: z.string().max(100).optional(),
    page: z.coerce.number().int().min(1).max(MAX_DEAL_PAGE).default(1),
    pageSize: z.coerce.number().int().min(1).max(MAX_DEAL_PAGE_SIZE).default(25),
  })
  .strict();

const pairParams = z.object({ connection: z.string().min(1).max(100), referralId: z.string().min(1).max(200) }).strict();
const mappingQuery = z
  .object({ connection: z.string().max(100).default(''), record: z.string().trim().max(200).default('') })
  .strict();
const CRM_RECORD = /^(opportunity|lead):(.+)$/;

const crmParams = z.object({ connection: z.string().min(1).max(100), entity: z.enum(['opportunity', 'lead']), crmId: z.string().min(1).max(200) }).strict();

export interface ConsoleDeps {
  store: Store;
  engine: Engine | undefined;
  readiness: Readiness;
  recordLinks?: RecordLinks | undefined;
  registration?: RegistrationWatch | undefined;
  credentialWarningDays?: number | undefined;
  /** Partner Center's referrals, for the mapping preview (absent without a CRM connection). */
  referrals?: Pick<ReferralsPort, 'get' | 'listPage'> | undefined;
}

function invalid(reply: FastifyReply, error: z.ZodError): FastifyReply {
  const issue = error.issues[0];
  const answer: ErrorResponse = { error: { code: 'invalid_query', message: `${issue?.path.join('.') || 'query'}: ${issue?.message ?? 'invalid'}` } };
  return reply.code(400).send(answer);
}

const htmlPage = (reply: FastifyReply, page: string) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);

/** The operator console: overview, deals, one page per pair, and the JSON behind each. */
export function consoleRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  const { store, engine, readiness } = deps;
  const links = deps.recordLinks ?? noRecordLinks;

  /** The names of the deals a page's dead letters and conflicts are about: one store read for all. */
  const namesOf = (rows: ReadonlyArray<Pick<DeadLetter, 'connection' | 'referralId' | 'crmEntity' | 'crmId'>>, conflicts: readonly HeldConflict[]) =>
    store.console.dealNames([...rows, ...conflicts.map((c) => ({ connection: c.connection, referralId: c.referralId, crmEntity: null, crmId: null }))]);

  const overview = async () => {
    const data: OverviewResponse = await buildOverview(store, engine, readiness, deps.registration, deps.credentialWarningDays);
    const [history, open, held] = await Promise.all([
      store.sync.deadLetters({ open: false, limit: OVERVIEW_ROWS }),
      store.sync.deadLetters({ open: true, limit: OVERVIEW_ROWS }),
      store.sync.conflicts(),
    ]);
    const closed = history.filter((d) => d.resolvedAt !== null).slice(0, CLOSED_ROWS);
    const conflicts = held.slice(0, OVERVIEW_ROWS);
    return overviewSection(data, open, conflicts, closed, await namesOf([...open, ...closed], conflicts));
  };

  const deals = async (query: z.infer<typeof dealsQuery>): Promise<DealsResponse> => {
    const found = await store.console.deals({
      search: query.q || undefined,
      state: query.state || undefined,
      connection: query.connection || undefined,
      limit: query.pageSize,
      offset: (query.page - 1) * query.pageSize,
    });
    return { total: found.total, page: query.page, pageSize: query.pageSize, deals: found.deals.map((d) => ({ ...d, ...urlsOf(links, d) })) };
  };

  const pair = async (connection: string, referralId: string): Promise<PairResponse | null> => {
    const deal = await store.console.deal(connection, referralId);
    if (!deal) return null;
    const [link, conflicts, deadLetters, audit] = await Promise.all([
      store.sync.getLink(connection, referralId),
      store.sync.conflicts(connection),
      store.console.pairDeadLetters(connection, referralId, PAIR_DEAD_LETTER_LIMIT),
      store.sync.audit({ connection, referralId, limit: PAIR_AUDIT_LIMIT }),
    ]);
    return {
      deal: { ...deal, ...urlsOf(links, deal) },
      base: agreedValues(link?.base ?? {}),
      conflicts: conflicts.filter((c) => c.referralId === referralId),
      deadLetters,
      audit,
    };
  };

  const crmDeal = async (connection: string, entity: string, crmId: string): Promise<PairResponse | null> => {
    const deal = await store.console.crmDeal(connection, entity, crmId);
    if (!deal) return null;
    const [deadLetters, audit] = await Promise.all([
      store.console.crmDeadLetters(connection, entity, crmId, PAIR_DEAD_LETTER_LIMIT),
      store.sync.audit({ connection, crmId, limit: PAIR_AUDIT_LIMIT }),
    ]);
    return { deal: { ...deal, ...urlsOf(links, deal) }, base: {}, conflicts: [], deadLetters, audit };
  };

  const mappingConnections = (): MappingConnection[] => [...(engine?.connections.entries() ?? [])].map(([name, c]) => ({ name, spec: c.spec }));
  const preview = async (form: z.infer<typeof mappingQuery>): Promise<MappingPreview | { error: string } | undefined> => {
    if (!form.record) return undefined;
    const connection = engine?.connections.get(form.connection) ?? [...(engine?.connections.values() ?? [])][0];
    if (!connection || !deps.referrals) return { error: 'No CRM connection is configured.' };
    const crm = CRM_RECORD.exec(form.record);
    try {
      return await previewMapping({
        connection,
        referrals: deps.referrals,
        sync: store.sync,
        ...(crm ? { crm: { entity: crm[1] as CrmEntityName, id: crm[2] ?? '' } } : { referralId: form.record }),
      });
    } catch (error) {
      // Not found, refused, unreachable: the operator reads why, as the CLI would print it.
      return { error: `Could not preview ${form.record}: ${error instanceof Error ? error.message : String(error)}` };
    }
  };

  app.get('/mapping', async (request, reply) => {
    const query = mappingQuery.safeParse(request.query);
    if (!query.success) return invalid(reply, query.error);
    const connections = mappingConnections();
    const form = { connection: query.data.connection || (connections[0]?.name ?? ''), record: query.data.record };
    return htmlPage(reply, mappingPage(connections, form, await preview(form)));
  });
  app.get('/api/mapping/preview', async (request, reply) => {
    const query = mappingQuery.safeParse(request.query);
    if (!query.success) return invalid(reply, query.error);
    const result = await preview(query.data);
    if (!result) return reply.code(400).send({ error: { code: 'invalid_query', message: 'record: a referral id or <entity>:<id>' } } satisfies ErrorResponse);
    if ('error' in result) return reply.code(422).send({ error: { code: 'preview_failed', message: result.error } } satisfies ErrorResponse);
    return result;
  });

  app.get('/console.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(CONSOLE_JS));
  app.get('/console.css', async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(CONSOLE_CSS));

  const problems = async () => {
    const [openDeadLetters, history, held, conflictHistory] = await Promise.all([
      store.sync.deadLetters({ open: true, limit: PROBLEM_ROWS }),
      store.sync.deadLetters({ open: false, limit: PROBLEM_ROWS * 2 }),
      store.sync.conflicts(),
      store.sync.audit({ outcomes: ['held', 'conflict'], limit: PROBLEM_ROWS }),
    ]);
    const closedDeadLetters = history.filter((d) => d.resolvedAt !== null).slice(0, PROBLEM_ROWS);
    const conflicts = held.slice(0, PROBLEM_ROWS);
    return problemsSection({ openDeadLetters, closedDeadLetters, conflicts, conflictHistory, names: await namesOf([...openDeadLetters, ...closedDeadLetters, ...conflictHistory], conflicts) });
  };
  app.get('/problems', async (_request, reply) => htmlPage(reply, problemsPage(await problems())));
  app.get('/problems/live', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send((await problems()).toString()));

  app.get('/', async (_request, reply) => htmlPage(reply, overviewPage(await overview())));
  app.get('/overview/live', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send((await overview()).toString()));
  app.get('/api/overview', async (): Promise<OverviewResponse> => buildOverview(store, engine, readiness, deps.registration, deps.credentialWarningDays));

  // One Partner Center call, on an operator's request: where the tenant's webhook registration points now.
  app.post('/api/registration/check', async (_request, reply) => {
    if (!deps.registration) return reply.code(409).send({ error: { code: 'no_connections', message: 'the registration is watched only while a CRM connection is configured' } } satisfies ErrorResponse);
    const state = await deps.registration.check();
    const message = { ours: 'Points at this service.', missing: 'Missing: Partner Center sends no events.', elsewhere: `Points elsewhere: ${state.url ?? '?'}`, unknown: `Could not check: ${state.error ?? 'unknown error'}` }[state.status];
    const answer: RegistrationCheckResponse = { ...state, message };
    return answer;
  });

  app.get('/deals', async (request, reply) => {
    const query = dealsQuery.safeParse(request.query);
    if (!query.success) return invalid(reply, query.error);
    const connections = Object.keys(readiness.connectionNames).filter((name) => readiness.connectionNames[name] !== 'referrals');
    return htmlPage(reply, dealsPage(await deals(query.data), { q: query.data.q, state: query.data.state || undefined, connection: query.data.connection || undefined }, connections));
  });
  app.get('/api/deals', async (request, reply) => {
    const query = dealsQuery.safeParse(request.query);
    if (!query.success) return invalid(reply, query.error);
    return deals(query.data);
  });

  app.get('/deals/:connection/:referralId', async (request, reply) => {
    const params = pairParams.safeParse(request.params);
    if (!params.success) return invalid(reply, params.error);
    const found = await pair(params.data.connection, params.data.referralId);
    if (!found) return reply.code(404).type('text/html; charset=utf-8').send('<!doctype html><title>Not found</title><p>No such deal. <a href="/deals">Deals</a></p>');
    return htmlPage(reply, pairPage(found));
  });
  app.get('/deals/:connection/crm/:entity/:crmId', async (request, reply) => {
    const params = crmParams.safeParse(request.params);
    if (!params.success) return invalid(reply, params.error);
    const found = await crmDeal(params.data.connection, params.data.entity, params.data.crmId);
    if (!found) return reply.code(404).type('text/html; charset=utf-8').send('<!doctype html><title>Not found</title><p>No such CRM deal (or it is linked now). <a href="/deals">Deals</a></p>');
    return htmlPage(reply, pairPage(found));
  });
  app.get('/api/deals/:connection/crm/:entity/:crmId', async (request, reply) => {
    const params = crmParams.safeParse(request.params);
    if (!params.success) return invalid(reply, params.error);
    const found = await crmDeal(params.data.connection, params.data.entity, params.data.crmId);
    if (!found) return reply.code(404).send({ error: { code: 'not_found', message: `no CRM-only deal ${params.data.crmId} on ${params.data.connection}` } } satisfies ErrorResponse);
    return found;
  });
  // A CRM record with no referral: queue it as a CRM change (the sync sends it to Partner Center if it is ready).
  app.post('/api/sync/crm/:connection/:entity/:crmId', async (request, reply) => {
    const params = crmParams.safeParse(request.params);
    if (!params.success) return invalid(reply, params.error);
    if (!engine?.connections.has(params.data.connection)) return reply.code(404).send({ error: { code: 'not_found', message: `no connection ${params.data.connection}` } } satisfies ErrorResponse);
    await store.jobs.enqueue([{ connection: params.data.connection, cause: 'manual', crm: { entity: params.data.entity, id: params.data.crmId } }]);
    return reply.code(202).send({ message: 'Queued: the CRM record is read and sent now.' });
  });

  /** The CRM record's Sync Status follows a pause; a failure to write it does not undo the pause (it is said). */
  const crmStatus = async (connection: string, referralId: string, paused: boolean): Promise<string> => {
    const connector = engine?.connections.get(connection)?.connector;
    if (!connector) return '';
    try {
      await showPauseInCrm({ connector, sync: store.sync, connection, referralId, paused });
      return '';
    } catch (error) {
      return ` The CRM's Sync Status could not be updated: ${error instanceof Error ? error.message : String(error)}`;
    }
  };

  // Pause / resume a linked pair: while paused every sync of it is skipped (both directions); resuming merges both
  // sides against the base left at the pause, so a change either side made meanwhile is kept.
  app.post('/api/pairs/:connection/:referralId/pause', async (request, reply) => {
    const params = pairParams.safeParse(request.params);
    if (!params.success) return invalid(reply, params.error);
    const { connection, referralId } = params.data;
    // The operator's hold is added even when the seller paused the pair too, so the seller's Yes does not lift it.
    const alreadyPaused = { paused: true, message: 'Already paused.' } satisfies PauseResponse;
    if ((await store.sync.pausedBy(connection, referralId)).includes('operator')) return alreadyPaused;
    if (!(await store.sync.pausePair(connection, referralId))) {
      // The store decides atomically: an operator's pause made since the read above also answers false.
      if ((await store.sync.pausedBy(connection, referralId)).includes('operator')) return alreadyPaused;
      return reply.code(404).send({ error: { code: 'not_found', message: `no linked pair ${referralId} on ${connection}` } } satisfies ErrorResponse);
    }
    return { paused: true, message: `Paused: neither side is written until you resume.${await crmStatus(connection, referralId, true)}` } satisfies PauseResponse;
  });
  app.post('/api/pairs/:connection/:referralId/resume', async (request, reply) => {
    const params = pairParams.safeParse(request.params);
    if (!params.success) return invalid(reply, params.error);
    const { connection, referralId } = params.data;
    if (!(await store.sync.resumePair(connection, referralId))) {
      // A seller's No stays on the record: resuming over it would sync a deal the seller withdrew, so it is theirs to lift.
      const message = (await store.sync.isPaused(connection, referralId))
        ? `pair ${referralId} on ${connection} is paused by the seller (Sync with Partner Center = No in the CRM); set it back to Yes there`
        : `pair ${referralId} on ${connection} is not paused`;
      return reply.code(409).send({ error: { code: 'not_paused', message } } satisfies ErrorResponse);
    }
    if (await store.sync.isPaused(connection, referralId)) {
      return { paused: true, message: 'Your pause is lifted; the pair stays paused until Sync with Partner Center is set back to Yes in the CRM.' } satisfies PauseResponse;
    }
    return { paused: false, message: `Resumed: both sides are merged now, with every change made while paused.${await crmStatus(connection, referralId, false)}` } satisfies PauseResponse;
  });

  app.get('/api/deals/:connection/:referralId', async (request, reply) => {
    const params = pairParams.safeParse(request.params);
    if (!params.success) return invalid(reply, params.error);
    const found = await pair(params.data.connection, params.data.referralId);
    if (!found) return reply.code(404).send({ error: { code: 'not_found', message: `no deal ${params.data.referralId} on ${params.data.connection}` } } satisfies ErrorResponse);
    return found;
  });
}
