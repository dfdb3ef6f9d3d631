import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSISTANCE_OPTION_BASE, customColumnSpecs, label, SYNC_STATUS_OPTIONS } from '../../../../src/crm/dynamics/custom-columns.ts';
import { DynamicsSetupError, setupDynamics, type SetupProgress } from '../../../../src/crm/dynamics/provisioning.ts';
import { parseDataverseWebhook, verifyWebhookAuth, type DynamicsWebhookAuth } from '../../../../src/crm/dynamics/webhook.ts';
import { SANDBOX_USERS } from '../../../../src/sandbox/dataverse/index.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { startHarness, WebhookReceiver, type Harness } from './helpers.ts';

const AUTH: DynamicsWebhookAuth = { kind: 'HttpHeader', headerName: 'x-cosell-webhook-key', secret: 's3cret-value-for-tests' };

interface StepRow {
  name: string;
  message: string;
  entity: string;
  url: string;
  filteringattributes: string | null;
  enabled: boolean;
}

describe('setupDynamics and webhooks against the Dataverse sandbox', () => {
  let h: Harness;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    h = await startHarness();
    receiver = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await receiver.close();
    await h.close();
  });

  it('creates the columns, keys and webhook registration once, and finds them all on a re-run', async () => {
    const progress: SetupProgress[] = [];
    const first = await setupDynamics({ connector: h.connector, webhookUrl: receiver.url, webhookAuth: AUTH, logger: silentLogger(), onProgress: (event) => progress.push(event) });
    expect(first.created).toEqual(
      expect.arrayContaining([
        'column opportunity.cosell_syncwithpartnercenter',
        'column opportunity.cosell_referralidentifier',
        'column opportunity.cosell_howcanmicrosofthelp',
        'column opportunity.cosell_audit',
        'column opportunity.cosell_syncstatus',
        'key opportunity.cosell_opportunity_referralid_key',
        'key lead.cosell_lead_referralid_key',
        'column lead.cosell_referralidentifier',
        'column opportunity.cosell_coselldecision',
        'column lead.cosell_declinereason',
        'column opportunity.cosell_microsoftselleremail',
        'table cosell_microsoftsolution',
        'column cosell_microsoftsolution.cosell_solutionid',
        'key cosell_microsoftsolution.cosell_microsoftsolution_solutionid_key',
        'relationship cosell_opportunity_microsoftsolution',
        'webhook endpoint cosell-sync',
        'webhook step Create of opportunity',
        'webhook step Update of opportunity',
        'webhook step Win of opportunity',
        'webhook step Lose of opportunity',
        'webhook step Create of lead',
        'webhook step Update of lead',
        'webhook step Create of connection',
        'webhook step Update of connection',
        'webhook step AddUserToRecordTeam of systemuser',
        'webhook step RemoveUserFromRecordTeam of systemuser',
      ]),
    );
    // Opportunity: 13 columns + key; lead: 7 columns + key; Microsoft Solutions: table, 2 columns, key, N:N; webhook
    // endpoint + 6 steps + 4 about the opportunity's people (stakeholder connections, access team).
    expect(first.created).toHaveLength(13 + 1 + 7 + 1 + 5 + 1 + 6 + 4);
    expect(first.published).toEqual(['opportunity', 'lead', 'cosell_microsoftsolution']);
    expect(progress.filter((event) => event.status === 'created').map((event) => event.item)).toEqual(first.created);

    const steps = (await h.control<{ value: StepRow[] }>('GET', '/_sandbox/webhooks/steps')).body.value;
    expect(steps.map((step) => `${step.message} ${step.entity}`).sort()).toEqual([
      'AddUserToRecordTeam systemuser',
      'Create connection',
      'Create lead',
      'Create opportunity',
      'Lose opportunity',
      'RemoveUserFromRecordTeam systemuser',
      'Update connection',
      'Update lead',
      'Update opportunity',
      'Win opportunity',
    ]);
    expect(steps.every((step) => step.url === receiver.url && step.enabled)).toBe(true);

    h.calls.length = 0;
    const second = await setupDynamics({ connector: h.connector, webhookUrl: receiver.url, webhookAuth: AUTH, logger: silentLogger() });
    expect(second.created).toEqual([]);
    expect(second.updated).toEqual([]);
    expect(second.published).toEqual([]);
    expect([...second.found].sort()).toEqual([...first.created, ...first.found].sort());
    expect(h.calls.filter((call) => call.method !== 'GET')).toEqual([]);
    expect((await h.control<{ value: StepRow[] }>('GET', '/_sandbox/webhooks/steps')).body.value).toHaveLength(10);
  });

  it('describes the custom columns with their types and choice options', async () => {
    const metadata = await h.connector.describe(['opportunity', 'lead']);
    const opportunity = metadata.opportunity?.columns ?? {};
    expect(opportunity.cosell_syncwithpartnercenter).toMatchObject({ type: 'boolean' });
    expect(opportunity.cosell_referralidentifier).toMatchObject({ type: 'string', maxLength: 100 });
    expect(opportunity.cosell_referrallink).toMatchObject({ type: 'url', maxLength: 500 });
    expect(opportunity.cosell_audit).toMatchObject({ type: 'memo', maxLength: 100_000 });
    expect(opportunity.cosell_howcanmicrosofthelp).toEqual({
      name: 'cosell_howcanmicrosofthelp',
      type: 'picklist',
      options: [0, 1, 2, 3, 4, 5].map((offset) => ASSISTANCE_OPTION_BASE + offset),
    });
    expect(opportunity.cosell_syncstatus?.options).toEqual(Object.values(SYNC_STATUS_OPTIONS));
    expect(opportunity['@state']).toEqual({ name: '@state', type: 'virtual', options: ['open', 'won', 'lost'] });
    expect(opportunity.estimatedvalue).toMatchObject({ type: 'money' });
    expect(opportunity.estimatedclosedate).toMatchObject({ type: 'date' });
    expect(opportunity.modifiedon).toMatchObject({ type: 'datetime' });
    expect(opportunity.transactioncurrencyid).toMatchObject({ type: 'lookup', target: 'transactioncurrency' });
    expect(opportunity.statuscode?.options).toEqual([1, 2, 3, 4, 5]);
    expect(metadata.lead?.columns['@state']?.options).toEqual(['open', 'qualified', 'disqualified']);
    expect(metadata.lead?.columns.cosell_howcanmicrosofthelp).toBeUndefined();
  });

  it('delivers a seller change as a RemoteExecutionContext the parser and auth check accept', async () => {
    const created = await h.control<{ opportunityid: string }>('POST', '/_sandbox/records/opportunities', { name: 'Seller opportunity' });
    expect(created.status).toBe(201);
    const id = created.body.opportunityid;
    const delivery = await receiver.waitFor((webhook) => webhook.body.includes(id) && webhook.headers['x-ms-dynamics-request-name'] === 'Create');

    const event = parseDataverseWebhook(delivery.body);
    expect(event).toMatchObject({ entity: 'opportunity', id, messageName: 'Create', initiatingUserId: SANDBOX_USERS.seller.id, depth: 1 });
    expect(event.operationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(event.occurredAt ?? ''))).toBe(false);

    const url = new URL(delivery.url, 'http://localhost');
    expect(verifyWebhookAuth(delivery.headers, url.searchParams, AUTH)).toEqual({ ok: true });
    expect(verifyWebhookAuth(delivery.headers, url.searchParams, { ...AUTH, secret: 'another-secret' })).toEqual({ ok: false, reason: 'wrong header x-cosell-webhook-key' });
    expect(verifyWebhookAuth({ ...delivery.headers, 'x-cosell-webhook-key': 'guess' }, url.searchParams, AUTH).ok).toBe(false);
    expect(verifyWebhookAuth({}, url.searchParams, AUTH)).toEqual({ ok: false, reason: 'missing header x-cosell-webhook-key' });
  });

  it('reports our own writes with our user, so the ingress can recognise echoes', async () => {
    const record = await h.connector.createForReferral('opportunity', 'echo-referral', { name: 'Ours' }, undefined, [{ name: 'name' }]);
    const delivery = await receiver.waitFor((webhook) => webhook.body.includes(record.ref.id));
    expect(parseDataverseWebhook(delivery.body).initiatingUserId).toBe(SANDBOX_USERS.application.id);
  });

  it('narrows Update steps to the filtering attributes and then fires only for them', async () => {
    const report = await setupDynamics({
      connector: h.connector,
      webhookUrl: receiver.url,
      webhookAuth: AUTH,
      filteringAttributes: { opportunity: ['name', 'EstimatedValue', 'statecode'] },
      logger: silentLogger(),
    });
    expect(report.updated).toEqual(['webhook step Update of opportunity']);
    expect(report.created).toEqual([]);
    const steps = (await h.control<{ value: StepRow[] }>('GET', '/_sandbox/webhooks/steps')).body.value;
    expect(steps.find((step) => step.message === 'Update' && step.entity === 'opportunity')?.filteringattributes).toBe('estimatedvalue,name,statecode');

    const created = await h.control<{ opportunityid: string }>('POST', '/_sandbox/records/opportunities', { name: 'Filter test' });
    const id = created.body.opportunityid;
    await h.control('PATCH', `/_sandbox/records/opportunities/${id}`, { description: 'not a synced column' });
    await h.control('PATCH', `/_sandbox/records/opportunities/${id}`, { estimatedvalue: 5 });
    const update = await receiver.waitFor((webhook) => webhook.body.includes(id) && webhook.headers['x-ms-dynamics-request-name'] === 'Update');
    expect(update.body).toContain('estimatedvalue');
    expect(receiver.received.filter((webhook) => webhook.body.includes(id) && webhook.headers['x-ms-dynamics-request-name'] === 'Update')).toHaveLength(1);
  });

  it('surfaces the Dataverse message when a step fails', async () => {
    const error = await setupDynamics({ connector: h.connector, prefix: 'other', solutionUniqueName: 'NoSuchSolution', logger: silentLogger() }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DynamicsSetupError);
    expect((error as Error).message).toMatch(/^column opportunity\.other_syncwithpartnercenter: Dataverse POST .*NoSuchSolution.* does not exist/);
  });

  it('rejects a prefix that is not a publisher prefix before calling Dataverse', async () => {
    h.calls.length = 0;
    await expect(setupDynamics({ connector: h.connector, prefix: 'Bad_Prefix', logger: silentLogger() })).rejects.toThrow(/publisher prefix/);
    expect(h.calls).toEqual([]);
  });
});

/**
 * An org set up by an earlier release: its Sync Status choice has Synced/Failed/Pending but no Conflict. The customer
 * relabelled Failed and added an option of their own; both must survive setup.
 */
describe('an org whose Sync Status column predates the Conflict option', () => {
  let h: Harness;
  const warnings: string[] = [];
  const optionsOf = async (table: string) => {
    const row = await h.connector.client.api.retrieveAttribute<{ OptionSet: { Options: Array<{ Value: number; Label: { UserLocalizedLabel: { Label: string } } }> } }>({
      entityKey: `LogicalName='${table}'`,
      attributeKey: "LogicalName='cosell_syncstatus'",
      castType: 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
      expand: [{ property: 'OptionSet' }],
    });
    return row.OptionSet.Options.map((option) => [option.Value, option.Label.UserLocalizedLabel.Label]);
  };

  beforeAll(async () => {
    h = await startHarness();
    const specs = customColumnSpecs('cosell');
    const spec = (name: string) => specs.find((candidate) => candidate.logicalName === name)?.definition ?? {};
    const syncStatus = spec('cosell_syncstatus') as { OptionSet: Record<string, unknown> };
    const oldSyncStatus = {
      ...syncStatus,
      OptionSet: {
        ...syncStatus.OptionSet,
        Options: [
          { Value: SYNC_STATUS_OPTIONS.synced, Label: label('Synced') },
          { Value: SYNC_STATUS_OPTIONS.failed, Label: label('Sync failed') },
          { Value: SYNC_STATUS_OPTIONS.pending, Label: label('Pending') },
          { Value: 100_000_009, Label: label('Escalated') },
        ],
      },
    };
    for (const table of ['opportunity', 'lead']) {
      await h.connector.client.api.createAttribute({ entityKey: `LogicalName='${table}'`, data: oldSyncStatus });
      await h.connector.client.api.createAttribute({ entityKey: `LogicalName='${table}'`, data: spec('cosell_audit') });
    }
  });
  afterAll(async () => h.close());

  it('writes Failed for a held conflict, keeps the audit line and warns once to re-run setup', async () => {
    const connector = h.connect({ logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }), statusIndicator: { nameSuffix: false } });
    const created = await h.control<{ opportunityid: string }>('POST', '/_sandbox/records/opportunities', { name: 'Held conflict' });
    const ref = { entity: 'opportunity' as const, id: created.body.opportunityid };
    const held = { ok: false, conflict: true, auditLines: ['2026-12-03 conflict on name: held until resolved (cosell conflicts resolve)'] };
    await connector.update(ref, {}, null, held);
    await connector.writeSyncStatus(ref, held);
    const row = (await h.rows('opportunities')).find((candidate) => candidate.opportunityid === ref.id);
    expect(row?.cosell_syncstatus).toBe(SYNC_STATUS_OPTIONS.failed);
    expect(row?.cosell_audit).toContain('conflict on name: held until resolved');
    // No "Paused" option either: an operator's pause leaves the status as it is rather than failing the write.
    await connector.writeSyncStatus(ref, { ok: true, paused: true, auditLines: ['paused by an operator'] });
    const after = (await h.rows('opportunities')).find((candidate) => candidate.opportunityid === ref.id);
    expect(after?.cosell_syncstatus).toBe(SYNC_STATUS_OPTIONS.failed);
    expect(after?.cosell_audit).not.toContain('paused by an operator');
    const warned = warnings.filter((line) => line.includes('cosell setup dynamics'));
    expect(warned).toHaveLength(1);
    expect(JSON.parse(warned[0] ?? '{}')).toMatchObject({ level: 40, table: 'opportunity', column: 'cosell_syncstatus' });
  });

  it('setup adds the Conflict option (reported as updated) without touching the customer\'s options; a re-run finds it', async () => {
    // The Microsoft Solutions catalogue is not what this test is about; left out so only the option upgrade publishes.
    const first = await setupDynamics({ connector: h.connector, logger: silentLogger(), solutions: false });
    expect(first.updated).toEqual(['column opportunity.cosell_syncstatus', 'column lead.cosell_syncstatus']);
    expect(first.published).toEqual(['opportunity', 'lead']);
    for (const table of ['opportunity', 'lead']) {
      expect(await optionsOf(table)).toEqual([
        [SYNC_STATUS_OPTIONS.synced, 'Synced'],
        [SYNC_STATUS_OPTIONS.failed, 'Sync failed'],
        [SYNC_STATUS_OPTIONS.pending, 'Pending'],
        [100_000_009, 'Escalated'],
        [SYNC_STATUS_OPTIONS.conflict, 'Conflict'],
        [SYNC_STATUS_OPTIONS.paused, 'Paused'],
      ]);
    }

    h.calls.length = 0;
    const second = await setupDynamics({ connector: h.connector, logger: silentLogger(), solutions: false });
    expect(second.updated).toEqual([]);
    expect(second.found).toEqual(expect.arrayContaining(['column opportunity.cosell_syncstatus', 'column lead.cosell_syncstatus']));
    expect(h.calls.filter((call) => call.method !== 'GET')).toEqual([]);

    // Setup invalidated the connector's metadata: a held conflict is now written as Conflict.
    const created = await h.control<{ opportunityid: string }>('POST', '/_sandbox/records/opportunities', { name: 'After setup' });
    const ref = { entity: 'opportunity' as const, id: created.body.opportunityid };
    await h.connector.update(ref, {}, null, { ok: false, conflict: true, auditLines: ['held'] });
    expect((await h.rows('opportunities')).find((row) => row.opportunityid === ref.id)?.cosell_syncstatus).toBe(SYNC_STATUS_OPTIONS.conflict);
    // And an operator's pause as Paused.
    await h.connector.writeSyncStatus(ref, { ok: true, paused: true, auditLines: ['paused by an operator'] });
    expect((await h.rows('opportunities')).find((row) => row.opportunityid === ref.id)?.cosell_syncstatus).toBe(SYNC_STATUS_OPTIONS.paused);
  });
});
