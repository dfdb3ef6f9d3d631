import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { createDynamicsConnector } from '../../src/crm/dynamics/factory.ts';
import { setupDynamics } from '../../src/crm/dynamics/provisioning.ts';
import type { DynamicsConnector } from '../../src/crm/dynamics/dynamics-connector.ts';
import type { MicrosoftSolution, MicrosoftSolutionsApi } from '../../src/crm/solutions.ts';
import { startDataverseSandbox, type DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import { silentLogger } from '../../src/util/logger.ts';
import {
  json,
  prepareHarness,
  sendJson,
  ServiceHarness,
  type DeliveryLogRow,
  type HarnessGround,
  type RequestCounts,
  type Row,
  type SandboxFaults,
  type ServiceHarnessOptions,
} from './service-harness.ts';

/*
 * Partner Center and Dataverse sandboxes, a Dataverse org provisioned as `cosell setup dynamics` does, a registered
 * Partner Center webhook and the sync service (see ServiceHarness), plus acting as a Dynamics seller and reading
 * Dataverse through the sandbox's control API (never counted, never faulted).
 */

export interface SyncHarnessOptions extends ServiceHarnessOptions {
  /** A mapping file to use instead of the bundled mappings/dynamics.yaml. */
  mappingFile?: string;
  /** Delay of Dataverse's single webhook retry (502/503/504). Default 50 ms. */
  dvWebhookRetryDelayMs?: number;
  /** Runs after provisioning, before the service starts: e.g. turn the org back into one an earlier release set up. */
  afterSetup?: (connector: DynamicsConnector) => Promise<void>;
  /** The `alerts` config section (e.g. e-mail to a test SMTP receiver). */
  alerts?: ConfigInput['alerts'];
  /**
   * The org URL the service is configured with, instead of the sandbox's own (e.g. a port that refuses, to start the
   * service with Dataverse down). Provisioning still goes to the sandbox.
   */
  serviceOrgUrl?: (sandboxUrl: string) => string;
}

const DV_WEBHOOK_SECRET = 'dv-webhook-secret-for-tests';

export class SyncHarness extends ServiceHarness {
  protected readonly idleStableChecks = 3;

  private constructor(
    ground: HarnessGround,
    readonly dv: DataverseSandbox,
    configInput: ConfigInput,
    options: SyncHarnessOptions,
  ) {
    super(ground, configInput, parseConfig('sync-harness', configInput), options);
  }

  /** Starts the sandboxes, provisions Dataverse, starts the service and registers the Partner Center webhook. */
  static async start(options: SyncHarnessOptions = {}): Promise<SyncHarness> {
    const ground = await prepareHarness('cosell-sync-', options);
    const dv = await startDataverseSandbox({ port: 0, webhookRetryDelayMs: options.dvWebhookRetryDelayMs ?? 50 });
    try {
      const secretFile = join(ground.dir, 'dv-webhook.secret');
      writeFileSync(secretFile, `${DV_WEBHOOK_SECRET}\n`);
      const configInput: ConfigInput = {
        ...ground.configInput,
        ...(options.mappingFile ? { mappings: { dynamics: options.mappingFile } } : {}),
        ...(options.alerts ? { alerts: options.alerts } : {}),
        dynamics: { orgUrl: options.serviceOrgUrl?.(dv.url) ?? dv.url, mode: 'sandbox', webhook: { secret: { file: secretFile } } },
      };
      const harness = new SyncHarness(ground, dv, configInput, options);
      // What `cosell setup dynamics` does: custom columns, alternate key, webhook endpoint and steps.
      const connector = await createDynamicsConnector({ ...harness.config.dynamics!, orgUrl: dv.url }, { logger: silentLogger() });
      await setupDynamics({
        connector,
        logger: silentLogger(),
        webhookUrl: `${harness.url}/webhooks/dynamics`,
        webhookAuth: { kind: 'HttpHeader', headerName: 'x-cosell-webhook-key', secret: DV_WEBHOOK_SECRET },
      });
      await options.afterSetup?.(connector);
      await harness.startAndRegister();
      return harness;
    } catch (error) {
      await dv.close();
      await ground.dispose();
      throw error;
    }
  }

  protected async closeCrm(): Promise<void> {
    await this.dv.close();
  }

  protected async crmPendingDeliveries(): Promise<number> {
    return (await this.dvDeliveries()).pending;
  }

  // ---- Dataverse (as a seller in the CRM UI) --------------------------------------------------------------------

  async records(entitySet: string): Promise<Row[]> {
    return (await json<{ value: Row[] }>(`${this.dv.url}/_sandbox/records/${entitySet}`)).value;
  }

  opportunities(): Promise<Row[]> {
    return this.records('opportunities');
  }

  async opportunity(id: string): Promise<Row | undefined> {
    return (await this.opportunities()).find((o) => o.opportunityid === id);
  }

  /** The opportunities carrying this referral id (exactly one when all is well). */
  async opportunitiesFor(referralId: string): Promise<Row[]> {
    return (await this.opportunities()).filter((o) => o.cosell_referralidentifier === referralId);
  }

  async opportunityFor(referralId: string): Promise<Row | undefined> {
    return (await this.opportunitiesFor(referralId))[0];
  }

  /** A referral shared by Microsoft, synced and settled: its id and its opportunity's. */
  async linkedPair(body: Row): Promise<{ referralId: string; opportunityId: string }> {
    const referral = await this.incomingReferral(body);
    await this.waitForWebhooks();
    await this.runWorkerUntilIdle();
    const opportunity = await this.opportunityFor(referral.id);
    if (!opportunity) throw new Error(`no opportunity for referral ${referral.id}`);
    return { referralId: referral.id, opportunityId: String(opportunity.opportunityid) };
  }

  /** `linkedPair`, then the partner accepts the referral in Partner Center and the sync settles: it takes CRM edits. */
  async acceptedPair(body: Row): Promise<{ referralId: string; opportunityId: string }> {
    const pair = await this.linkedPair(body);
    await this.pcPartnerAccept(pair.referralId);
    await this.waitForWebhooks();
    await this.runWorkerUntilIdle();
    return pair;
  }

  dvCreate(entitySet: string, body: Row): Promise<Row> {
    return json(`${this.dv.url}/_sandbox/records/${entitySet}`, sendJson('POST', body));
  }

  dvSellerEdit(entitySet: string, id: string, patch: Row): Promise<Row> {
    return json(`${this.dv.url}/_sandbox/records/${entitySet}/${id}`, sendJson('PATCH', patch));
  }

  /**
   * A seller's new deal in Dynamics: an account (ISO country), optionally a contact, and an opportunity for it.
   * `sync` is "Sync with Partner Center"; `help` an option of "How can Microsoft help?" (makes it co-sell).
   */
  async dvCreateDeal(deal: {
    name: string;
    company: string;
    value: number;
    description?: string;
    sync: boolean;
    help?: number;
    contact?: boolean;
    country?: string;
    /** Microsoft Solutions chosen on the deal before "Sync with Partner Center" is switched on (must be imported). */
    solutions?: readonly string[];
  }): Promise<{ opportunityId: string; accountId: string }> {
    const account = await this.dvCreate('accounts', {
      name: deal.company,
      address1_city: 'Redmond',
      address1_postalcode: '98052',
      address1_country: deal.country ?? 'US',
    });
    const accountId = String(account.accountid);
    let contactId: string | undefined;
    if (deal.contact !== false) {
      const contact = await this.dvCreate('contacts', {
        firstname: 'Pat',
        lastname: deal.company.replace(/[^A-Za-z]/g, '') || 'Buyer',
        emailaddress1: `pat.${deal.company.replace(/[^A-Za-z0-9]/g, '').toLowerCase()}@example.com`,
        'parentcustomerid_account@odata.bind': `/accounts(${accountId})`,
      });
      contactId = String(contact.contactid);
    }
    const opportunity = await this.dvCreate('opportunities', {
      name: deal.name,
      estimatedvalue: deal.value,
      description: deal.description ?? `${deal.name} (created in Dynamics)`,
      estimatedclosedate: '2027-06-30',
      // With solutions, the seller picks them in the subgrid first and switches Sync on last, as the form's order goes.
      cosell_syncwithpartnercenter: deal.solutions ? false : deal.sync,
      ...(deal.help !== undefined ? { cosell_howcanmicrosofthelp: deal.help } : {}),
      'customerid_account@odata.bind': `/accounts(${accountId})`,
      'parentaccountid@odata.bind': `/accounts(${accountId})`,
      ...(contactId ? { 'parentcontactid@odata.bind': `/contacts(${contactId})` } : {}),
    });
    const opportunityId = String(opportunity.opportunityid);
    if (deal.solutions) {
      await this.dvChooseSolutions(opportunityId, deal.solutions);
      if (deal.sync) await this.dvSellerEdit('opportunities', opportunityId, { cosell_syncwithpartnercenter: true });
    }
    return { opportunityId, accountId };
  }

  /** What `cosell solutions import` does: the partner's solutions in the org's Microsoft Solutions catalogue. */
  async dvImportSolutions(solutions: readonly MicrosoftSolution[]): Promise<void> {
    await (await this.dvSolutions()).upsert(solutions);
  }

  /** The seller's "Add Existing" in the opportunity's Microsoft Solutions subgrid: N:N associations through the Web API. */
  async dvChooseSolutions(opportunityId: string, solutionIds: readonly string[]): Promise<void> {
    await (await this.dvSolutions()).writeDealSolutions({ entity: 'opportunity', id: opportunityId }, solutionIds);
  }

  /** The opportunity's chosen Microsoft Solutions, read through the Web API. */
  async dvDealSolutions(opportunityId: string): Promise<string[]> {
    return (await this.dvSolutions()).readDealSolutions({ entity: 'opportunity', id: opportunityId });
  }

  private solutionsApi: MicrosoftSolutionsApi | undefined;

  private async dvSolutions(): Promise<MicrosoftSolutionsApi> {
    this.solutionsApi ??= (await createDynamicsConnector(this.config.dynamics!, { logger: silentLogger() })).solutions;
    return this.solutionsApi;
  }

  dvFaults(faults: SandboxFaults): Promise<unknown> {
    return json(`${this.dv.url}/_sandbox/faults`, sendJson('POST', faults));
  }

  clearDvFaults(): Promise<unknown> {
    return json(`${this.dv.url}/_sandbox/faults`, { method: 'DELETE' });
  }

  dvRequests(): Promise<RequestCounts> {
    return json(`${this.dv.url}/_sandbox/requests`);
  }

  async dvDeliveries(): Promise<{ pending: number; value: DeliveryLogRow[] }> {
    return json(`${this.dv.url}/_sandbox/webhooks/deliveries`);
  }

  /** Zero both sandboxes' request counters. */
  async resetRequests(): Promise<void> {
    await json(`${this.pc.url}/_sandbox/requests`, { method: 'DELETE' });
    await json(`${this.dv.url}/_sandbox/requests`, { method: 'DELETE' });
  }

  async clearFaults(): Promise<void> {
    await this.clearPcFaults();
    await this.clearDvFaults();
  }
}
