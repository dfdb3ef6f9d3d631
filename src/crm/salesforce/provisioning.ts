import type { Logger } from '../../util/logger.ts';
import { customFieldSpecs, type CustomFieldSpec, type ProvisionedSObject } from './custom-fields.ts';
import type { SalesforceConnector } from './salesforce-connector.ts';
import { soqlStringList } from './soql.ts';

/*
 * `cosell setup salesforce`: the custom fields the connector relies on, created through the Tooling API's CustomField
 * (Tooling API "CustomField") after a Tooling SOQL query for what exists. Idempotent by construction: a re-run finds
 * every field and creates nothing. Existing fields are never altered: one a customer customised (relabelled, longer)
 * stays theirs.
 *
 * What the REST API cannot do is printed as instructions instead (returned in the report): selecting Opportunity and
 * Lead for Change Data Capture, or defining the Outbound Message action; granting the integration user field-level
 * security on the new fields (a real org hides new fields from it until a permission set grants them, Tooling API
 * "CustomField").
 */

export type SetupItemStatus = 'created' | 'found';

export interface SetupProgress {
  item: string;
  status: SetupItemStatus;
}

export interface SetupReport {
  created: string[];
  found: string[];
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
}

export class SalesforceSetupError extends Error {
  override readonly name = 'SalesforceSetupError';
}

interface ExistingField {
  sobject: string;
  developerName: string;
}

async function existingFields(connector: SalesforceConnector, sobjects: readonly string[]): Promise<ExistingField[]> {
  const rows = await connector.client.query(`SELECT Id, DeveloperName, TableEnumOrId, NamespacePrefix FROM CustomField WHERE TableEnumOrId IN ${soqlStringList(sobjects)}`, {
    route: 'CustomField',
    tooling: true,
  });
  return rows
    // A namespaced field (a managed package's) is not the unprefixed field the connector reads and writes.
    .filter((row) => row.NamespacePrefix === null || row.NamespacePrefix === undefined || row.NamespacePrefix === '')
    .map((row) => ({ sobject: String(row.TableEnumOrId), developerName: String(row.DeveloperName) }));
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
  const report: SetupReport = { created: [], found: [], instructions: [] };
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
  const has = (spec: CustomFieldSpec) =>
    existing.some((field) => field.sobject.toLowerCase() === spec.sobject.toLowerCase() && field.developerName.toLowerCase() === developerName(spec).toLowerCase());

  let changed = false;
  for (const spec of customFieldSpecs().filter((candidate) => sobjects.includes(candidate.sobject))) {
    const item = `field ${spec.sobject}.${spec.fieldName}`;
    if (has(spec)) {
      note(item, 'found');
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
  if (changed) connector.invalidateMetadata();
  const identity = await connector.client.identity().catch(() => undefined);
  report.instructions = setupInstructions({ ...options, organizationId: identity?.organizationId });
  return report;
}
