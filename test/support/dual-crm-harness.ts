import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import type { SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { createDynamicsDeal, provisionCrms, startCrmSandboxes } from './crm-sandboxes.ts';
import { json, prepareHarness, sendJson, ServiceHarness, type DeliveryLogRow, type HarnessGround, type Row, type ServiceHarnessOptions } from './service-harness.ts';

/*
 * Both CRMs connected at once, as a partner running Dynamics 365 and Salesforce side by side: the Partner Center,
 * Dataverse and Salesforce sandboxes, `cosell setup dynamics` and `cosell setup salesforce`, a registered Partner Center
 * webhook and the sync service (Dataverse webhooks, Salesforce CDC). CRM records are read and edited through the
 * sandboxes' control APIs, as sellers.
 */

export class DualCrmHarness extends ServiceHarness {
  /** CDC has no delivery log (see SalesforceSyncHarness): more stable checks before calling it idle. */
  protected readonly idleStableChecks = 6;

  private constructor(
    ground: HarnessGround,
    readonly dv: DataverseSandbox,
    readonly sf: SalesforceSandbox,
    configInput: ConfigInput,
    options: ServiceHarnessOptions,
  ) {
    super(ground, configInput, parseConfig('dual-crm-harness', configInput), options);
  }

  /** `serviceOrgUrl`: the Dynamics org URL the service is configured with (provisioning still goes to the sandbox). */
  static async start(options: ServiceHarnessOptions & { serviceOrgUrl?: (sandboxUrl: string) => string } = {}): Promise<DualCrmHarness> {
    const ground = await prepareHarness('cosell-sync-dual-', options);
    const sandboxes = await startCrmSandboxes(ground.dir, 5_000);
    const { dv, sf } = sandboxes;
    try {
      const configInput: ConfigInput = {
        ...ground.configInput,
        dynamics: { orgUrl: options.serviceOrgUrl?.(dv.url) ?? dv.url, mode: 'sandbox', webhook: { secret: { file: sandboxes.dvSecretFile } } },
        salesforce: { instanceUrl: sf.url, mode: 'sandbox', notifications: 'cdc', organizationId: sf.organizationId },
      };
      const harness = new DualCrmHarness(ground, dv, sf, configInput, options);
      await provisionCrms(harness.config, sandboxes, harness.url);
      await harness.startAndRegister();
      return harness;
    } catch (error) {
      await sandboxes.close();
      await ground.dispose();
      throw error;
    }
  }

  protected async closeCrm(): Promise<void> {
    await this.dv.close();
    await this.sf.close();
  }

  protected async crmPendingDeliveries(): Promise<number> {
    return (await json<{ pending: number; value: DeliveryLogRow[] }>(`${this.dv.url}/_sandbox/webhooks/deliveries`)).pending;
  }

  /** `select`: only these columns, unannotated (cheap enough to poll thousands of records). */
  async dvOpportunities(select?: readonly string[]): Promise<Row[]> {
    return (await json<{ value: Row[] }>(`${this.dv.url}/_sandbox/records/opportunities${selectQuery(select)}`)).value;
  }

  async sfOpportunities(select?: readonly string[]): Promise<Row[]> {
    const body = await json<{ value?: Row[]; records?: Row[] }>(`${this.sf.url}/_sandbox/records/Opportunity${selectQuery(select)}`);
    return body.value ?? body.records ?? [];
  }

  dvSellerEdit(entitySet: string, id: string, patch: Row): Promise<Row> {
    return json(`${this.dv.url}/_sandbox/records/${entitySet}/${id}`, sendJson('PATCH', patch));
  }

  sfSellerEdit(sobject: string, id: string, patch: Row): Promise<Row> {
    return json(`${this.sf.url}/_sandbox/records/${sobject}/${id}`, sendJson('PATCH', patch));
  }

  dvCreate(entitySet: string, body: Row): Promise<Row> {
    return json(`${this.dv.url}/_sandbox/records/${entitySet}`, sendJson('POST', body));
  }

  sfCreate(sobject: string, body: Row): Promise<Row> {
    return json(`${this.sf.url}/_sandbox/records/${sobject}`, sendJson('POST', body));
  }

  /** A Dynamics seller's new deal (account, contact, opportunity), "Sync with Partner Center" = Yes. */
  dvCreateDeal(deal: { name: string; company: string; value: number }): Promise<{ opportunityId: string; accountId: string }> {
    return createDynamicsDeal(this.dv.url, deal);
  }

  pcLatency(ms: number): Promise<unknown> {
    return this.pcFaults({ latencyMs: ms });
  }
}

function selectQuery(select: readonly string[] | undefined): string {
  return select && select.length > 0 ? `?select=${encodeURIComponent(select.join(','))}` : '';
}
