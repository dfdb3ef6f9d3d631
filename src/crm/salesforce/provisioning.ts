import { z } from 'zod';
import type { Logger } from '../../util/logger.ts';
import { customFieldSpecs, type CustomFieldSpec, type ProvisionedSObject } from './custom-fields.ts';
import type { SalesforceConnector } from './salesforce-connector.ts';
import { solutionObjectSpecs } from './solution-objects.ts';
import { soqlStringList } from './soql.ts';

/*
 * `cosell setup salesforce`: the custom fields the connector relies on, created through the Tooling API's CustomField
 * (Tooling API "CustomField") after a Tooling SOQL query for what exists. Idempotent by construction: a re-run finds
 * every field and creates nothing. Existing fields are never altered — one a customer customised (relabelled, longer)
 * stays theirs — with one exception: a picklist whose values the connector writes (Sync Status) gets the values an
 * earlier release did not create, by a Tooling API CustomField update of its value set, reported as `updated`. The
 * update sends back the field's own Metadata as read, with the missing values appended: nothing is removed or relabelled.
 *
 * What the REST API cannot do is printed as instructions instead (returned in the report): selecting Opportunity and
 * Lead for Change Data Capture, or defining the Outbound Message action; granting the integration user field-level
 * security on the new fields (a real org hides new fields from it until a permission set grants them, Tooling API
 * "CustomField").
 */

export type SetupItemStatus = 'created' | 'found' | 'updated';

export interface SetupProgress {
  item: string;
  status: SetupItemStatus;
}

export interface SetupReport {
  created: string[];
  found: string[];
  /** Existing fields brought up to date (picklist values added). */
  updated: string[];
  /** Steps for an admin in Setup, in order; print them. */
  instructions: string[];
}

export interface SetupSalesforceOptions {
  connector: SalesforceConnector;
  logger: Logger;
  onProgress?: (progress: SetupProgress) => void;
  /** Where change notifications go: `cdc` (default) or `outbound-messages` with the service's public URL. */
  notifications?: 'cdc' | 'outbound-messages';
  /** The Outbound Message endpoint URL (`https://host/webhooks/salesforce/<secret>`, secret masked or not). */
  webhookUrl?: string;
  /** Where the endpoint secret comes from (`env:NAME`), named next to a masked URL. */
  webhookSecretSource?: string;
  /** Whether `webhookUrl` shows the secret. */
  webhookSecretShown?: boolean;
  /** Objects to provision; default both. */
  sobjects?: readonly ProvisionedSObject[];
  /** The Microsoft Solutions catalogue object and its junction with Opportunity. Default true (needs Opportunity). */
  solutions?: boolean;
}

export class SalesforceSetupError extends Error {
  override readonly name = 'SalesforceSetupError';
}

interface ExistingField {
  id: string;
  sobject: string;
  developerName: string;
}

/**
 * A value of the field's value set. The Metadata API names it `fullName`; the Tooling API's JSON is seen naming it
 * `valueName` (as its CustomValue does). Which one a CustomField GET returns is UNCONFIRMED, so either is read, and
 * values are appended under the name the field's own values use.
 */
const picklistValueSchema = z.looseObject({ fullName: z.string().nullish(), valueName: z.string().nullish() });
const customFieldSchema = z.looseObject({
  Metadata: z.looseObject({
    valueSet: z.looseObject({ valueSetDefinition: z.looseObject({ value: z.array(picklistValueSchema) }).nullish() }).nullish(),
  }),
});

async function existingFields(connector: SalesforceConnector, sobjects: readonly string[]): Promise<ExistingField[]> {
  const rows = await connector.client.query(`SELECT Id, DeveloperName, TableEnumOrId, NamespacePrefix FROM CustomField WHERE TableEnumOrId IN ${soqlStringList(sobjects)}`, {
    route: 'CustomField',
    tooling: true,
  });
  return rows
    // A namespaced field (a managed package's) is not the unprefixed field the connector reads and writes.
    .filter((row) => row.NamespacePrefix === null || row.NamespacePrefix === undefined || row.NamespacePrefix === '')
    .map((row) => ({ id: String(row.Id), sobject: String(row.TableEnumOrId), developerName: String(row.DeveloperName) }));
}

/**
 * Appends the required values a picklist lacks (compared case-insensitively, as Salesforce compares API names) and
 * returns them. The Tooling API updates a CustomField by a PATCH of its whole Metadata, so the Metadata read is sent
 * back with only the value list extended. A field on a global value set has no value list of its own: left alone.
 */
async function addMissingValues(connector: SalesforceConnector, field: ExistingField, spec: CustomFieldSpec, logger: Logger): Promise<string[]> {
  const path = `/tooling/sobjects/CustomField/${encodeURIComponent(field.id)}`;
  const raw = await connector.client.send({ method: 'GET', path, route: 'tooling/sobjects/CustomField/{id}' });
  const parsed = customFieldSchema.safeParse(raw);
  const rawMetadata = (raw as { Metadata?: Record<string, unknown> } | null)?.Metadata;
  const definition = parsed.success ? parsed.data.Metadata.valueSet?.valueSetDefinition : undefined;
  if (!definition || !rawMetadata) {
    logger.warn({ field: `${spec.sobject}.${spec.fieldName}` }, 'picklist has no value list of its own (global value set?): add the missing values in Setup');
    return [];
  }
  const present = new Set(definition.value.map((value) => (value.valueName ?? value.fullName ?? '').toLowerCase()));
  const missing = (spec.requiredValues ?? []).filter((value) => !present.has(value.toLowerCase()));
  if (missing.length === 0) return [];
  const nameKey = definition.value.some((value) => typeof value.valueName === 'string') ? 'valueName' : 'fullName';
  const valueSet = rawMetadata.valueSet as Record<string, unknown>;
  const valueSetDefinition = valueSet.valueSetDefinition as Record<string, unknown> & { value: unknown[] };
  const metadata = {
    ...rawMetadata,
    valueSet: { ...valueSet, valueSetDefinition: { ...valueSetDefinition, value: [...valueSetDefinition.value, ...missing.map((value) => ({ [nameKey]: value, label: value, default: false }))] } },
  };
  await connector.client.send({ method: 'PATCH', path, route: 'tooling/sobjects/CustomField/{id}', idempotent: true, body: { Metadata: metadata } });
  return missing;
}

/**
 * The Microsoft Solutions objects (see solution-objects.ts): each custom object through the Tooling API's CustomObject,
 * then its fields, each looked up first. Fields of a custom object name it by its CustomObject id in TableEnumOrId.
 */
async function provisionSolutionObjects(connector: SalesforceConnector, note: (item: string, status: SetupItemStatus) => void): Promise<boolean> {
  const specs = solutionObjectSpecs();
  const developerNames = specs.map((spec) => spec.objectName.replace(/__c$/, ''));
  const rows = await connector.client.query(`SELECT Id, DeveloperName, NamespacePrefix FROM CustomObject WHERE DeveloperName IN ${soqlStringList(developerNames)}`, {
    route: 'CustomObject',
    tooling: true,
  });
  const objectIds = new Map(
    rows.filter((row) => row.NamespacePrefix === null || row.NamespacePrefix === undefined || row.NamespacePrefix === '').map((row) => [String(row.DeveloperName).toLowerCase(), String(row.Id)]),
  );
  let changed = false;
  for (const spec of specs) {
    const item = `object ${spec.objectName}`;
    const developer = spec.objectName.replace(/__c$/, '').toLowerCase();
    let objectId = objectIds.get(developer);
    if (objectId) note(item, 'found');
    else {
      const created = await connector.client.send({ method: 'POST', path: '/tooling/sobjects/CustomObject', route: 'tooling/sobjects/CustomObject', body: { FullName: spec.objectName, Metadata: spec.metadata } });
      objectId = z.looseObject({ id: z.string() }).parse(created).id;
      note(item, 'created');
      changed = true;
    }
    const fields = await connector.client.query(`SELECT Id, DeveloperName FROM CustomField WHERE TableEnumOrId = ${soqlStringList([objectId]).slice(1, -1)}`, { route: 'CustomField', tooling: true });
    const present = new Set(fields.map((row) => String(row.DeveloperName).toLowerCase()));
    for (const field of spec.fields) {
      const fieldItem = `field ${spec.objectName}.${field.fieldName}`;
      if (present.has(field.fieldName.replace(/__c$/, '').toLowerCase())) {
        note(fieldItem, 'found');
        continue;
      }
      await connector.client.send({ method: 'POST', path: '/tooling/sobjects/CustomField', route: 'tooling/sobjects/CustomField', body: { FullName: `${spec.objectName}.${field.fieldName}`, Metadata: field.metadata } });
      note(fieldItem, 'created');
      changed = true;
    }
  }
  return changed;
}

function developerName(spec: CustomFieldSpec): string {
  return spec.fieldName.replace(/__c$/, '');
}

export function setupInstructions(
  options: Pick<SetupSalesforceOptions, 'notifications' | 'webhookUrl' | 'webhookSecretSource' | 'webhookSecretShown'> & { organizationId?: string | undefined },
): string[] {
  const steps = [
    'Setup > Permission Sets: grant the integration user Read and Edit on the Partner Center fields of Opportunity and Lead (new custom fields are hidden from it until then).',
    'Setup > Object Manager > Opportunity > Fields & Relationships > Stage: make sure the on-hold and active stages named in cosell.yaml exist in the sales process.',
    'Setup > Object Manager > Opportunity > Page Layouts: add the "Microsoft Solutions" related list, and grant the integration user Read, Create, Edit and Delete on Microsoft Solution and Opportunity Microsoft Solution.',
  ];
  if ((options.notifications ?? 'cdc') === 'cdc') {
    steps.push('Setup > Integrations > Change Data Capture: select Opportunity and Lead (and save); cosell-sync subscribes to /data/OpportunityChangeEvent and /data/LeadChangeEvent.');
  } else {
    const url = options.webhookUrl ?? 'https://<your host>/webhooks/salesforce/<outboundMessageSecret>';
    const secretNote = options.webhookSecretShown
      ? ' Treat this URL as a password: its last segment is the secret that authenticates the messages.'
      : ` The masked last segment is the secret from ${options.webhookSecretSource ?? 'salesforce.outboundMessageSecret'}; "cosell setup salesforce --show-secret" prints the full URL.`;
    steps.push(
      `Setup > Flows: create a record-triggered Flow on Opportunity (and one on Lead), "A record is created or updated", with an Outbound Message action sending the Id field to the endpoint URL ${url} (leave "Send Session ID" off).${secretNote}`,
      `Set organizationId in cosell.yaml to this org's id${options.organizationId ? ` (${options.organizationId})` : ''}: notifications from any other org are refused.`,
    );
  }
  return steps;
}

/** Provisions Salesforce for cosell-sync; see the module comment. Safe to re-run. */
export async function setupSalesforce(options: SetupSalesforceOptions): Promise<SetupReport> {
  const { connector, logger } = options;
  const sobjects = [...(options.sobjects ?? (['Opportunity', 'Lead'] as const))];
  const report: SetupReport = { created: [], found: [], updated: [], instructions: [] };
  const note = (item: string, status: SetupItemStatus) => {
    report[status].push(item);
    // A progress reporter owns the output; logging as well would print every item twice.
    if (options.onProgress) options.onProgress({ item, status });
    else logger.info({ item, status }, 'salesforce setup');
  };

  let existing: ExistingField[];
  try {
    existing = await existingFields(connector, sobjects);
  } catch (error) {
    throw new SalesforceSetupError(`listing custom fields: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const find = (spec: CustomFieldSpec) =>
    existing.find((field) => field.sobject.toLowerCase() === spec.sobject.toLowerCase() && field.developerName.toLowerCase() === developerName(spec).toLowerCase());

  let changed = false;
  for (const spec of customFieldSpecs().filter((candidate) => sobjects.includes(candidate.sobject))) {
    const item = `field ${spec.sobject}.${spec.fieldName}`;
    const field = find(spec);
    if (field) {
      let added: string[] = [];
      try {
        if (spec.requiredValues) added = await addMissingValues(connector, field, spec, logger);
      } catch (error) {
        throw new SalesforceSetupError(`${item}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      if (added.length > 0) changed = true;
      note(item, added.length > 0 ? 'updated' : 'found');
      continue;
    }
    try {
      await connector.client.send({
        method: 'POST',
        path: '/tooling/sobjects/CustomField',
        route: 'tooling/sobjects/CustomField',
        body: { FullName: `${spec.sobject}.${spec.fieldName}`, Metadata: spec.metadata },
      });
    } catch (error) {
      throw new SalesforceSetupError(`${item}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    note(item, 'created');
    changed = true;
  }
  if ((options.solutions ?? true) && sobjects.includes('Opportunity')) {
    try {
      if (await provisionSolutionObjects(connector, note)) changed = true;
    } catch (error) {
      throw new SalesforceSetupError(`Microsoft Solutions objects: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  if (changed) connector.invalidateMetadata();
  const identity = await connector.client.identity().catch(() => undefined);
  report.instructions = setupInstructions({ ...options, organizationId: identity?.organizationId });
  return report;
}
