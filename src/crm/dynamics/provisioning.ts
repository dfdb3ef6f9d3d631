import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Logger } from '../../util/logger.ts';
import { customColumnSpecs, label, referralKeySpec, type ProvisionedTable } from './custom-columns.ts';
import type { DataverseClient } from './dataverse-client.ts';
import { choiceOptionValues } from './describe.ts';
import type { DynamicsConnector } from './dynamics-connector.ts';
import { isNotFound } from './dataverse-errors.ts';
import { entityKey, parseResponse, stringLiteral } from './odata.ts';
import { solutionColumnDefinitions, solutionKeyDefinition, solutionRelationshipDefinition, solutionTableDefinition, solutionTableNames } from './solution-tables.ts';
import { endpointAuthValue, type DynamicsWebhookAuth } from './webhook.ts';

/*
 * `cosell setup dynamics`: the custom columns and alternate keys the connector relies on, change tracking, and the
 * webhook registration (service endpoint + SDK steps) that tells us about seller edits within seconds.
 *
 * Idempotent by construction: every item is looked up first and only created (or corrected) when missing or different,
 * so a re-run reports everything as found and writes nothing. Existing columns are never altered — a column a customer
 * has customised (longer, relabelled) stays theirs — with one exception: a choice whose values the connector writes
 * (Sync Status) gets the options an earlier release did not create, through InsertOptionValue (Microsoft Learn "Insert,
 * update, delete, and order local options"), reported as `updated`. Options are only added, never removed or relabelled.
 */

export type SetupItemStatus = 'created' | 'found' | 'updated' | 'skipped';

export interface SetupProgress {
  item: string;
  status: SetupItemStatus | 'published';
  detail?: string;
}

export interface SetupReport {
  created: string[];
  found: string[];
  updated: string[];
  skipped: string[];
  /** Tables published (PublishXml) because something was created or added on them. */
  published: string[];
}

export interface SetupDynamicsOptions {
  /** The connector (its client is used) or a client of its own. */
  connector?: DynamicsConnector;
  client?: DataverseClient;
  /** Publisher customization prefix; defaults to the connector's. */
  prefix?: string;
  /** Sent as `MSCRM.SolutionUniqueName` so created components land in that (unmanaged) solution. */
  solutionUniqueName?: string;
  /** Where Dataverse posts change notifications, e.g. `https://sync.example.com/webhooks/dynamics`. No URL, no webhook. */
  webhookUrl?: string;
  webhookAuth?: DynamicsWebhookAuth;
  /** Service endpoint name; one per cosell-sync deployment. Default `cosell-sync`. */
  endpointName?: string;
  /**
   * Update steps fire only when one of these columns is sent ("Use webhooks to create external handlers for server
   * events" `filteringattributes`); derive them from the mapping's synced columns. Unset: every update fires.
   */
  filteringAttributes?: Partial<Record<ProvisionedTable, readonly string[]>>;
  /** Tables to provision. Default both. */
  tables?: readonly ProvisionedTable[];
  /** The Microsoft Solutions catalogue table and its N:N with opportunity. Default true (needs opportunity). */
  solutions?: boolean;
  /** How long to wait for a new alternate key's index to become Active. Default 120 s. */
  keyActivationTimeoutMs?: number;
  logger: Logger;
  onProgress?: (progress: SetupProgress) => void;
}

export class DynamicsSetupError extends Error {
  override readonly name = 'DynamicsSetupError';
}

const WEBHOOK_CONTRACT = 8;
/** Asynchronous post-operation steps: the seller's save never waits for (or fails because of) our endpoint. */
const STEP_STAGE = 40;
const STEP_MODE = 1;
/**
 * Create and Update on both tables. Win and Lose are registered too where the org lists those messages (their names are
 * UNCONFIRMED, "Use webhooks to create external handlers for server events"): whether closing an opportunity also
 * raises Update is not documented.
 */
const MESSAGES: Record<ProvisionedTable, { required: string[]; optional: string[] }> = {
  opportunity: { required: ['Create', 'Update'], optional: ['Win', 'Lose'] },
  lead: { required: ['Create', 'Update'], optional: [] },
};

/**
 * An opportunity's people change in rows of their own (see webhook.ts `parseDataversePeople`): stakeholder connections,
 * access-team members. Registered where the org lists the message for the table (the record-team messages are
 * UNCONFIRMED as webhook steps); without them the periodic re-read of open co-sell pairs finds such changes. An owner
 * change is an Update sending `ownerid` ("Behavior of specialized update operations"), heard by the Update step.
 */
const PEOPLE_STEPS = [
  { table: 'connection', message: 'Create' },
  { table: 'connection', message: 'Update' },
  { table: 'systemuser', message: 'AddUserToRecordTeam' },
  { table: 'systemuser', message: 'RemoveUserFromRecordTeam' },
] as const;

const list = <S extends z.ZodType>(row: S) => z.looseObject({ value: z.array(row) });
const attributeNames = list(z.looseObject({ LogicalName: z.string() }));
const keyRows = list(z.looseObject({ LogicalName: z.string(), KeyAttributes: z.array(z.string()).nullish(), EntityKeyIndexStatus: z.string().nullish() }));
const entityRow = z.looseObject({ MetadataId: z.string(), ChangeTrackingEnabled: z.boolean().nullish() });
const endpointRows = list(z.looseObject({ serviceendpointid: z.string(), name: z.string().nullish(), url: z.string().nullish(), authtype: z.number().nullish() }));
const messageRows = list(z.looseObject({ sdkmessageid: z.string(), name: z.string() }));
const filterRows = list(z.looseObject({ sdkmessagefilterid: z.string(), primaryobjecttypecode: z.string().nullish(), _sdkmessageid_value: z.string().nullish() }));
const stepRows = list(
  z.looseObject({ sdkmessageprocessingstepid: z.string(), name: z.string().nullish(), filteringattributes: z.string().nullish(), _sdkmessagefilterid_value: z.string().nullish() }),
);

class Setup {
  readonly report: SetupReport = { created: [], found: [], updated: [], skipped: [], published: [] };
  private readonly headers: Record<string, string>;

  constructor(
    private readonly client: DataverseClient,
    private readonly options: SetupDynamicsOptions,
    private readonly prefix: string,
  ) {
    this.headers = options.solutionUniqueName ? { 'MSCRM.SolutionUniqueName': options.solutionUniqueName } : {};
  }

  note(item: string, status: SetupItemStatus, detail?: string): void {
    this.report[status].push(item);
    // A progress reporter owns the output; logging as well would print every item twice.
    if (this.options.onProgress) this.options.onProgress({ item, status, ...(detail ? { detail } : {}) });
    else this.options.logger.info({ item, status, ...(detail ? { detail } : {}) }, 'dynamics setup');
  }

  /** Runs one step; a Dataverse rejection becomes a setup error naming the item and carrying the API's message. */
  async step<T>(item: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DynamicsSetupError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new DynamicsSetupError(`${item}: ${message}`, { cause: error });
    }
  }

  async table(table: ProvisionedTable): Promise<boolean> {
    let changed = false;
    const key = entityKey(table);
    const existing = await this.step(`columns of ${table}`, async () => {
      const raw = await this.client.run({ method: 'GET', route: 'EntityDefinitions({key})/Attributes' }, (signal) =>
        this.client.api.retrieveAttributes({ entityKey: key, select: ['LogicalName'], signal }),
      );
      return new Set(parseResponse(attributeNames, raw, `GET EntityDefinitions(${table})/Attributes`).value.map((row) => row.LogicalName.toLowerCase()));
    });
    for (const spec of customColumnSpecs(this.prefix).filter((candidate) => candidate.tables.includes(table))) {
      const item = `column ${table}.${spec.logicalName}`;
      if (existing.has(spec.logicalName)) {
        const added = spec.requiredOptions ? await this.addMissingOptions(table, spec.logicalName, spec.requiredOptions, item) : [];
        if (added.length > 0) changed = true;
        this.note(item, added.length > 0 ? 'updated' : 'found', added.length > 0 ? `added option${added.length > 1 ? 's' : ''} ${added.join(', ')}` : undefined);
        continue;
      }
      await this.step(item, () =>
        this.client.run({ method: 'POST', route: 'EntityDefinitions({key})/Attributes', successStatus: 204 }, (signal) =>
          this.client.api.createAttribute({ entityKey: key, data: spec.definition, headers: this.headers, signal }),
        ),
      );
      this.note(item, 'created');
      changed = true;
    }
    if (await this.alternateKey(table)) changed = true;
    await this.changeTracking(table);
    return changed;
  }

  /**
   * The Microsoft Solutions catalogue: the table (with its primary name column), its other columns, the alternate key
   * over the solution id, and the N:N relationship with opportunity. Returns whether anything was created.
   */
  async solutionCatalog(): Promise<boolean> {
    const names = solutionTableNames(this.prefix);
    let changed = false;
    const tableItem = `table ${names.table}`;
    const exists = await this.step(tableItem, async () => {
      try {
        await this.client.run({ method: 'GET', route: 'EntityDefinitions({key})' }, (signal) => this.client.api.retrieveEntity({ key: entityKey(names.table), select: ['MetadataId'], signal }));
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    });
    if (exists) this.note(tableItem, 'found');
    else {
      await this.step(tableItem, () =>
        this.client.run({ method: 'POST', route: 'EntityDefinitions', successStatus: 204 }, (signal) =>
          this.client.api.createEntity({ data: solutionTableDefinition(this.prefix), headers: this.headers, signal }),
        ),
      );
      this.note(tableItem, 'created');
      changed = true;
    }
    const key = entityKey(names.table);
    const columns = await this.step(`columns of ${names.table}`, async () => {
      const raw = await this.client.run({ method: 'GET', route: 'EntityDefinitions({key})/Attributes' }, (signal) =>
        this.client.api.retrieveAttributes({ entityKey: key, select: ['LogicalName'], signal }),
      );
      return new Set(parseResponse(attributeNames, raw, `GET EntityDefinitions(${names.table})/Attributes`).value.map((row) => row.LogicalName.toLowerCase()));
    });
    for (const column of solutionColumnDefinitions(this.prefix)) {
      const item = `column ${names.table}.${column.logicalName}`;
      if (columns.has(column.logicalName)) {
        this.note(item, 'found');
        continue;
      }
      await this.step(item, () =>
        this.client.run({ method: 'POST', route: 'EntityDefinitions({key})/Attributes', successStatus: 204 }, (signal) =>
          this.client.api.createAttribute({ entityKey: key, data: column.definition, headers: this.headers, signal }),
        ),
      );
      this.note(item, 'created');
      changed = true;
    }
    const keyItem = `key ${names.table}.${names.key}`;
    const keys = await this.step(keyItem, async () => {
      const raw = await this.client.run({ method: 'GET', route: 'EntityDefinitions({key})/Keys' }, (signal) =>
        this.client.api.retrieve({ collection: 'EntityDefinitions', key, navigationProperty: 'Keys', select: ['LogicalName', 'KeyAttributes', 'EntityKeyIndexStatus'], signal }),
      );
      return parseResponse(keyRows, raw, `GET EntityDefinitions(${names.table})/Keys`).value;
    });
    const present = keys.find((candidate) => candidate.LogicalName.toLowerCase() === names.key || (candidate.KeyAttributes?.length === 1 && candidate.KeyAttributes[0]?.toLowerCase() === names.solutionId));
    if (present) {
      if (present.EntityKeyIndexStatus === 'Failed') throw new DynamicsSetupError(`${keyItem}: the key index failed to build — two catalogue rows share a solution id; remove the duplicate and re-run setup`);
      this.note(keyItem, 'found', present.EntityKeyIndexStatus ?? undefined);
    } else {
      await this.step(keyItem, () =>
        this.client.run({ method: 'POST', route: 'EntityDefinitions({key})/Keys', successStatus: 204 }, (signal) =>
          this.client.api.create<Record<string, unknown>, unknown>({ collection: 'EntityDefinitions', key, navigationProperty: 'Keys', data: solutionKeyDefinition(this.prefix), headers: this.headers, signal }),
        ),
      );
      this.note(keyItem, 'created');
      changed = true;
    }
    const relationshipItem = `relationship ${names.relationship}`;
    const related = await this.step(relationshipItem, async () => {
      try {
        await this.client.run({ method: 'GET', route: 'RelationshipDefinitions({key})' }, (signal) =>
          this.client.api.retrieveRelationship({ key: `SchemaName=${stringLiteral(names.relationship)}`, select: ['SchemaName'], signal }),
        );
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    });
    if (related) this.note(relationshipItem, 'found');
    else {
      await this.step(relationshipItem, () =>
        this.client.run({ method: 'POST', route: 'RelationshipDefinitions', successStatus: 204 }, (signal) =>
          this.client.api.createRelationship({ data: solutionRelationshipDefinition(this.prefix), headers: this.headers, signal }),
        ),
      );
      this.note(relationshipItem, 'created');
      changed = true;
    }
    return changed;
  }

  /** Adds the options of `wanted` the column lacks (compared by value); returns their labels. */
  private async addMissingOptions(table: ProvisionedTable, column: string, wanted: ReadonlyArray<readonly [number, string]>, item: string): Promise<string[]> {
    const present = new Set(await this.step(item, () => choiceOptionValues(this.client, table, column)));
    const added: string[] = [];
    for (const [value, text] of wanted) {
      if (present.has(value)) continue;
      await this.step(item, () =>
        this.client.run({ method: 'POST', route: 'InsertOptionValue', successStatus: 200 }, (signal) =>
          this.client.api.callAction({
            actionName: 'InsertOptionValue',
            action: {
              EntityLogicalName: table,
              AttributeLogicalName: column,
              Value: value,
              Label: label(text),
              ...(this.options.solutionUniqueName ? { SolutionUniqueName: this.options.solutionUniqueName } : {}),
            },
            signal,
          }),
        ),
      );
      added.push(text);
    }
    return added;
  }

  private async alternateKey(table: ProvisionedTable): Promise<boolean> {
    const spec = referralKeySpec(this.prefix, table);
    const item = `key ${table}.${spec.logicalName}`;
    const keyColumn = `${this.prefix}_referralidentifier`;
    const readKeys = () =>
      this.client
        .run({ method: 'GET', route: 'EntityDefinitions({key})/Keys' }, (signal) =>
          this.client.api.retrieve({
            collection: 'EntityDefinitions',
            key: entityKey(table),
            navigationProperty: 'Keys',
            select: ['LogicalName', 'KeyAttributes', 'EntityKeyIndexStatus'],
            signal,
          }),
        )
        .then((raw) => parseResponse(keyRows, raw, `GET EntityDefinitions(${table})/Keys`).value);
    const keys = await this.step(item, readKeys);
    // A key over exactly the referral column serves, whatever it was named (e.g. made by hand before setup existed).
    const present = keys.find(
      (candidate) => candidate.LogicalName.toLowerCase() === spec.logicalName || (candidate.KeyAttributes?.length === 1 && candidate.KeyAttributes[0]?.toLowerCase() === keyColumn),
    );
    if (present) {
      this.assertUsable(item, present.EntityKeyIndexStatus);
      this.note(item, 'found', present.EntityKeyIndexStatus ?? undefined);
      return false;
    }
    await this.step(item, () =>
      this.client.run({ method: 'POST', route: 'EntityDefinitions({key})/Keys', successStatus: 204 }, (signal) =>
        this.client.api.create<Record<string, unknown>, unknown>({ collection: 'EntityDefinitions', key: entityKey(table), navigationProperty: 'Keys', data: spec.definition, headers: this.headers, signal }),
      ),
    );
    // The key's index builds asynchronously ("Work with alternate keys"); upserts by the key fail until it is Active.
    const deadline = Date.now() + (this.options.keyActivationTimeoutMs ?? 120_000);
    for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
      const status = (await this.step(item, readKeys)).find((candidate) => candidate.LogicalName.toLowerCase() === spec.logicalName)?.EntityKeyIndexStatus;
      this.assertUsable(item, status);
      if (status === undefined || status === null || status === 'Active') break;
      if (Date.now() > deadline) throw new DynamicsSetupError(`${item}: the key index is still ${status}; re-run setup once Dataverse has built it`);
      await sleep(delay);
    }
    this.note(item, 'created');
    return true;
  }

  private assertUsable(item: string, status: string | null | undefined): void {
    if (status === 'Failed') {
      throw new DynamicsSetupError(
        `${item}: the key index failed to build — usually two rows already share a referral identifier; clear the duplicates, delete the key and re-run setup`,
      );
    }
  }

  /**
   * The reconciler reads deltas ("Use change tracking to synchronize data with external systems"); tracking can be
   * switched on (never off) through the table definition.
   */
  private async changeTracking(table: ProvisionedTable): Promise<void> {
    const item = `change tracking on ${table}`;
    const definition = await this.step(item, async () => {
      const raw = await this.client.run({ method: 'GET', route: 'EntityDefinitions({key})' }, (signal) =>
        this.client.api.retrieveEntity({ key: entityKey(table), signal }),
      );
      const operation = `GET EntityDefinitions(${table})`;
      return { raw: parseResponse(z.record(z.string(), z.unknown()), raw, operation), row: parseResponse(entityRow, raw, operation) };
    });
    if (definition.row.ChangeTrackingEnabled === true) {
      this.note(item, 'found');
      return;
    }
    await this.step(item, () =>
      // Updating a table definition is a PUT of the whole definition ("Create and update column definitions using the
      // Web API"), so the one read is sent back changed.
      this.client.run({ method: 'PUT', route: 'EntityDefinitions({id})', successStatus: 204 }, (signal) =>
        this.client.api.updateEntity({ key: definition.row.MetadataId, data: { ...stripAnnotations(definition.raw), ChangeTrackingEnabled: true }, mergeLabels: true, headers: this.headers, signal }),
      ),
    );
    this.note(item, 'updated');
  }

  async publish(tables: string[]): Promise<void> {
    if (tables.length === 0) return;
    const xml = `<importexportxml><entities>${tables.map((table) => `<entity>${table}</entity>`).join('')}</entities></importexportxml>`;
    await this.step(`publish ${tables.join(', ')}`, () =>
      this.client.run({ method: 'POST', route: 'PublishXml', successStatus: 204 }, (signal) =>
        this.client.api.callAction({ actionName: 'PublishXml', action: { ParameterXml: xml }, signal }),
      ),
    );
    this.report.published.push(...tables);
    this.options.onProgress?.({ item: `publish ${tables.join(', ')}`, status: 'published' });
  }

  async webhook(url: string, auth: DynamicsWebhookAuth, tables: readonly ProvisionedTable[]): Promise<void> {
    const endpointId = await this.endpoint(url, auth);
    const wanted: Array<{ table: string; message: string; optional: boolean }> = tables.flatMap((table) => [
      ...MESSAGES[table].required.map((message) => ({ table, message, optional: false })),
      ...MESSAGES[table].optional.map((message) => ({ table, message, optional: true })),
    ]);
    if (tables.includes('opportunity')) wanted.push(...PEOPLE_STEPS.map((step) => ({ ...step, optional: true })));
    const names = [...new Set(wanted.map((item) => item.message))];
    const messages = await this.step('SDK messages', async () => {
      const raw = await this.client.run({ method: 'GET', route: 'sdkmessages' }, (signal) =>
        this.client.api.retrieveMultiple({ collection: 'sdkmessages', select: ['sdkmessageid', 'name'], filter: names.map((name) => `name eq ${stringLiteral(name)}`).join(' or '), signal }),
      );
      return new Map(parseResponse(messageRows, raw, 'GET sdkmessages').value.map((row) => [row.name, row.sdkmessageid.toLowerCase()]));
    });
    const messageIds = [...messages.values()];
    const filters = await this.step('SDK message filters', async () => {
      if (messageIds.length === 0) return [];
      const tableFilter = [...new Set(wanted.map((item) => item.table))].map((table) => `primaryobjecttypecode eq ${stringLiteral(table)}`).join(' or ');
      const messageFilter = messageIds.map((id) => `_sdkmessageid_value eq ${id}`).join(' or ');
      const raw = await this.client.run({ method: 'GET', route: 'sdkmessagefilters' }, (signal) =>
        this.client.api.retrieveMultiple({
          collection: 'sdkmessagefilters',
          select: ['sdkmessagefilterid', 'primaryobjecttypecode', '_sdkmessageid_value'],
          filter: `(${tableFilter}) and (${messageFilter})`,
          signal,
        }),
      );
      return parseResponse(filterRows, raw, 'GET sdkmessagefilters').value;
    });
    const steps = await this.step('webhook steps', async () => {
      const raw = await this.client.run({ method: 'GET', route: 'sdkmessageprocessingsteps' }, (signal) =>
        this.client.api.retrieveMultiple({
          collection: 'sdkmessageprocessingsteps',
          select: ['sdkmessageprocessingstepid', 'name', 'filteringattributes', '_sdkmessagefilterid_value'],
          filter: `_eventhandler_value eq ${endpointId}`,
          signal,
        }),
      );
      return parseResponse(stepRows, raw, 'GET sdkmessageprocessingsteps').value;
    });

    for (const { table, message, optional } of wanted) {
      const item = `webhook step ${message} of ${table}`;
      const messageId = messages.get(message);
      const filter = filters.find((row) => row.primaryobjecttypecode?.toLowerCase() === table && row._sdkmessageid_value?.toLowerCase() === messageId);
      if (!messageId || !filter) {
        if (optional) {
          this.note(item, 'skipped', 'the org has no such message for this table');
          continue;
        }
        throw new DynamicsSetupError(`${item}: Dataverse lists no sdkmessage/sdkmessagefilter for ${message} of ${table}`);
      }
      const filterId = filter.sdkmessagefilterid.toLowerCase();
      const filtering = message === 'Update' && (table === 'opportunity' || table === 'lead') ? normalizeAttributes(this.options.filteringAttributes?.[table]) : null;
      const existing = steps.find((row) => row._sdkmessagefilterid_value?.toLowerCase() === filterId);
      if (existing) {
        if (message === 'Update' && normalizeAttributes(existing.filteringattributes?.split(',')) !== filtering) {
          await this.step(item, () =>
            this.client.run({ method: 'PATCH', route: 'sdkmessageprocessingsteps({id})', idempotent: true }, (signal) =>
              this.client.api.update<Record<string, unknown>, unknown>({ collection: 'sdkmessageprocessingsteps', key: existing.sdkmessageprocessingstepid, data: { filteringattributes: filtering }, signal }),
            ),
          );
          this.note(item, 'updated', `filtering attributes: ${filtering ?? '(all)'}`);
        } else {
          this.note(item, 'found');
        }
        continue;
      }
      await this.step(item, () =>
        this.client.run({ method: 'POST', route: 'sdkmessageprocessingsteps', successStatus: 204 }, (signal) =>
          this.client.api.create<Record<string, unknown>, unknown>({
            collection: 'sdkmessageprocessingsteps',
            data: {
              name: `${this.options.endpointName ?? 'cosell-sync'}: ${message} of ${table}`,
              description: 'Tells cosell-sync about changes so it can sync them with Partner Center.',
              mode: STEP_MODE,
              stage: STEP_STAGE,
              rank: 1,
              supporteddeployment: 0,
              // Succeeded system jobs are deleted; failures stay visible under System Jobs ("Use webhooks to create
              // external handlers for server events").
              asyncautodelete: true,
              ...(filtering ? { filteringattributes: filtering } : {}),
              'eventhandler_serviceendpoint@odata.bind': `/serviceendpoints(${endpointId})`,
              'sdkmessageid@odata.bind': `/sdkmessages(${messageId})`,
              'sdkmessagefilterid@odata.bind': `/sdkmessagefilters(${filterId})`,
            },
            headers: this.headers,
            signal,
          }),
        ),
      );
      this.note(item, 'created');
    }
  }

  /**
   * The webhook service endpoint, found by name. `authvalue` is write-only, so an existing endpoint's secret cannot be
   * compared: it is re-sent only when the URL or auth type changed (rotate a secret by changing either, or deleting it).
   */
  private async endpoint(url: string, auth: DynamicsWebhookAuth): Promise<string> {
    const name = this.options.endpointName ?? 'cosell-sync';
    const item = `webhook endpoint ${name}`;
    const { authtype, authvalue } = endpointAuthValue(auth);
    const rows = await this.step(item, async () => {
      const raw = await this.client.run({ method: 'GET', route: 'serviceendpoints' }, (signal) =>
        this.client.api.retrieveMultiple({
          collection: 'serviceendpoints',
          select: ['serviceendpointid', 'name', 'url', 'authtype'],
          filter: `contract eq ${WEBHOOK_CONTRACT} and name eq ${stringLiteral(name)}`,
          signal,
        }),
      );
      return parseResponse(endpointRows, raw, 'GET serviceendpoints').value;
    });
    const existing = rows[0];
    if (existing) {
      if (existing.url !== url || existing.authtype !== authtype) {
        await this.step(item, () =>
          this.client.run({ method: 'PATCH', route: 'serviceendpoints({id})', idempotent: true }, (signal) =>
            this.client.api.update<Record<string, unknown>, unknown>({ collection: 'serviceendpoints', key: existing.serviceendpointid, data: { url, authtype, authvalue }, signal }),
          ),
        );
        this.note(item, 'updated', url);
      } else {
        this.note(item, 'found', url);
      }
      return existing.serviceendpointid.toLowerCase();
    }
    const id = await this.step(item, () =>
      this.client.run({ method: 'POST', route: 'serviceendpoints', successStatus: 204 }, (signal) =>
        this.client.api.create<Record<string, unknown>, unknown>({
          collection: 'serviceendpoints',
          data: { name, description: 'cosell-sync change notifications', url, contract: WEBHOOK_CONTRACT, authtype, authvalue, messageformat: 2 },
          headers: this.headers,
          signal,
        }),
      ),
    );
    if (typeof id !== 'string') throw new DynamicsSetupError(`${item}: Dataverse returned no id for the new service endpoint`);
    this.note(item, 'created', url);
    return id.toLowerCase();
  }
}

function normalizeAttributes(columns: readonly string[] | undefined): string | null {
  const names = [...new Set((columns ?? []).map((name) => name.trim().toLowerCase()).filter((name) => name !== ''))].sort();
  return names.length === 0 ? null : names.join(',');
}

/** Response annotations (`@odata.context`, the library's `oDataContext`) are not part of a definition sent back. */
function stripAnnotations(definition: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(definition).filter(([key]) => !key.startsWith('@') && !key.startsWith('oData')));
}

/** Provisions Dataverse for cosell-sync; see the module comment. Safe to re-run. */
export async function setupDynamics(options: SetupDynamicsOptions): Promise<SetupReport> {
  const client = options.client ?? options.connector?.client;
  if (!client) throw new DynamicsSetupError('setupDynamics needs a connector or a client');
  const prefix = options.prefix ?? options.connector?.prefix ?? 'cosell';
  if (!/^[a-z][a-z0-9]{1,7}$/.test(prefix)) throw new DynamicsSetupError(`"${prefix}" is not a publisher prefix: 2–8 lower-case letters or digits, starting with a letter`);
  if (options.webhookUrl && !options.webhookAuth) throw new DynamicsSetupError('a webhook URL needs webhookAuth: Dataverse must prove to cosell-sync that a notification is genuine');
  const tables = [...(options.tables ?? (['opportunity', 'lead'] as const))];
  const setup = new Setup(client, options, prefix);

  const changed: string[] = [];
  for (const table of tables) if (await setup.table(table)) changed.push(table);
  if ((options.solutions ?? true) && tables.includes('opportunity') && (await setup.solutionCatalog())) changed.push(solutionTableNames(prefix).table);
  await setup.publish(changed);
  if (changed.length > 0) options.connector?.invalidateMetadata();
  if (options.webhookUrl && options.webhookAuth) await setup.webhook(options.webhookUrl, options.webhookAuth, tables);
  return setup.report;
}

