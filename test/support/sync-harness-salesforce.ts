import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSalesforceSetup } from '../../src/cli/setup.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startSalesforceSandbox, type SalesforceSandbox, type SalesforceSandboxOptions } from '../../src/sandbox/salesforce/index.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { createSalesforceConnector } from '../../src/crm/salesforce/factory.ts';
import type { MicrosoftSolutionsApi } from '../../src/crm/solutions.ts';
import { json, prepareHarness, sendJson, ServiceHarness, type HarnessGround, type RequestCounts, type Row, type SandboxFaults, type ServiceHarnessOptions } from './service-harness.ts';

/*
 * The Salesforce counterpart of SyncHarness: the Partner Center and Salesforce sandboxes, the custom fields of
 * `cosell setup salesforce`, a registered Partner Center webhook and the sync service with CDC notifications (see
 * ServiceHarness). Salesforce is read and edited through the sandbox's control API (`/_sandbox/records/:sobject`, as
 * the seller: never counted, never faulted, raises CDC events).
 */

export const OPPORTUNITY_CDC_CHANNEL = '/data/OpportunityChangeEvent';
/** The store key of the CDC replay id of the `salesforce` connection's opportunity channel. */
export const OPPORTUNITY_CDC_WATERMARK = `salesforce:cdc:${OPPORTUNITY_CDC_CHANNEL}`;

export interface SalesforceSyncHarnessOptions extends ServiceHarnessOptions {
  /** A mapping file to use instead of the bundled mappings/salesforce.yaml. */
  mappingFile?: string;
  /**
   * Outbound Messages instead of CDC: the secret of the service's endpoint, written to `outboundSecretFile` in the
   * harness directory and configured as `outboundMessageSecret: { file }`.
   */
  outboundMessageSecret?: string;
  /** The Salesforce sandbox's outbound-message retry schedule (default: the sandbox's own). */
  outboundMessageRetry?: SalesforceSandboxOptions['outboundMessageRetry'];
  /** Runs after `cosell setup salesforce`, before the service starts: e.g. customize the org as an admin would. */
  afterSetup?: (harness: SalesforceSyncHarness) => Promise<void>;
}

/** The `salesforce:` section: CDC notifications, or Outbound Messages with the secret in a file. */
function salesforceSection(sf: SalesforceSandbox, secretFile: string | undefined): NonNullable<ConfigInput['salesforce']> {
  const base = { instanceUrl: sf.url, mode: 'sandbox' as const, organizationId: sf.organizationId };
  if (secretFile === undefined) return { ...base, notifications: 'cdc' };
  return { ...base, notifications: 'outbound-messages', outboundMessageSecret: { file: secretFile } };
}

export class SalesforceSyncHarness extends ServiceHarness {
  /**
   * CDC events have no delivery log; they arrive through the long poll within a few checks, which is why idleness
   * asks for more stable checks than with Dataverse's webhooks.
   */
  protected readonly idleStableChecks = 6;
  /** What `cosell setup salesforce` reported when the harness ran it (secrets masked). */
  setupReport: Awaited<ReturnType<typeof runSalesforceSetup>> | undefined;

  private constructor(
    ground: HarnessGround,
    readonly sf: SalesforceSandbox,
    configInput: ConfigInput,
    options: SalesforceSyncHarnessOptions,
  ) {
    super(ground, configInput, parseConfig('sync-harness-salesforce', configInput), options);
  }

  /** Starts the sandboxes, creates the Salesforce custom fields, starts the service and registers the PC webhook. */
  static async start(options: SalesforceSyncHarnessOptions = {}): Promise<SalesforceSyncHarness> {
    const ground = await prepareHarness('cosell-sync-sf-', options);
    // Long polls shorter than Salesforce's 110 s, so a closing sandbox never waits on a held connect for long.
    const sf = await startSalesforceSandbox({
      port: 0,
      streamingLongPollMs: 5_000,
      ...(options.outboundMessageRetry ? { outboundMessageRetry: options.outboundMessageRetry } : {}),
    });
    try {
      const secretFile = options.outboundMessageSecret === undefined ? undefined : join(ground.dir, 'outbound.secret');
      if (secretFile !== undefined) writeFileSync(secretFile, `${options.outboundMessageSecret}\n`);
      const configInput: ConfigInput = {
        ...ground.configInput,
        ...(options.mappingFile ? { mappings: { salesforce: options.mappingFile } } : {}),
        salesforce: salesforceSection(sf, secretFile),
      };
      const harness = new SalesforceSyncHarness(ground, sf, configInput, options);
      // What `cosell setup salesforce` does: the custom fields through the Tooling API.
      harness.setupReport = await runSalesforceSetup(harness.config, silentLogger());
      await options.afterSetup?.(harness);
      await harness.startAndRegister();
      return harness;
    } catch (error) {
      await sf.close();
      await ground.dispose();
      throw error;
    }
  }

  /** The file holding the Outbound Messages secret (with `outboundMessageSecret`). */
  get outboundSecretFile(): string {
    return join(this.dir, 'outbound.secret');
  }

  protected async closeCrm(): Promise<void> {
    await this.sf.close();
  }

  protected crmPendingDeliveries(): Promise<number> {
    return Promise.resolve(0);
  }

  // ---- Salesforce (as a seller in the Salesforce UI) ------------------------------------------------------------

  async records(sobject: string): Promise<Row[]> {
    const body = await json<{ value?: Row[]; records?: Row[] }>(`${this.sf.url}/_sandbox/records/${sobject}`);
    return body.value ?? body.records ?? [];
  }

  opportunities(): Promise<Row[]> {
    return this.records('Opportunity');
  }

  async opportunity(id: string): Promise<Row | undefined> {
    return (await this.opportunities()).find((o) => o.Id === id);
  }

  /** The opportunities carrying this referral id (exactly one when all is well). */
  async opportunitiesFor(referralId: string): Promise<Row[]> {
    return (await this.opportunities()).filter((o) => o.Referral_Identifier__c === referralId);
  }

  async opportunityFor(referralId: string): Promise<Row | undefined> {
    return (await this.opportunitiesFor(referralId))[0];
  }

  sfSellerEdit(sobject: string, id: string, patch: Row): Promise<Row> {
    return json(`${this.sf.url}/_sandbox/records/${sobject}/${id}`, sendJson('PATCH', patch));
  }

  private solutionsApi: MicrosoftSolutionsApi | undefined;

  /** The org's Microsoft Solutions (catalogue and each deal's Opportunity related list), through its REST API. */
  async sfSolutions(): Promise<MicrosoftSolutionsApi> {
    const solutions = (await createSalesforceConnector(this.config.salesforce!, { logger: silentLogger() })).solutions;
    if (!solutions) throw new Error('the Salesforce connector offers no Microsoft Solutions');
    this.solutionsApi ??= solutions;
    return this.solutionsApi;
  }

  sfFaults(faults: SandboxFaults): Promise<unknown> {
    return json(`${this.sf.url}/_sandbox/faults`, sendJson('POST', faults));
  }

  clearSfFaults(): Promise<unknown> {
    return json(`${this.sf.url}/_sandbox/faults`, { method: 'DELETE' });
  }

  sfRequests(): Promise<RequestCounts> {
    return json(`${this.sf.url}/_sandbox/requests`);
  }

  /** Injects a CDC gap event (GAP_UPDATE by default) naming the given records, or every record of the entity. */
  cdcGap(entity: string, options: { changeType?: string; recordIds?: string[] } = {}): Promise<Row> {
    return json(`${this.sf.url}/_sandbox/cdc/gap`, sendJson('POST', { entity, ...options }));
  }

  cdcEvents(): Promise<{ count: number; latestReplayId: number; subscribers: number }> {
    return json(`${this.sf.url}/_sandbox/cdc/events`);
  }

  async resetRequests(): Promise<void> {
    await json(`${this.pc.url}/_sandbox/requests`, { method: 'DELETE' });
    await json(`${this.sf.url}/_sandbox/requests`, { method: 'DELETE' });
  }

  async clearFaults(): Promise<void> {
    await this.clearPcFaults();
    await this.clearSfFaults();
  }
}
