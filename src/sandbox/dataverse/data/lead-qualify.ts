import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest, ErrorCode, recordNotFound } from '../errors.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import { EventCollector } from '../webhooks/events.ts';
import { isEntityReference, type EntityReferenceValue, type RecordValues, type StoredRecord } from './record.ts';
import type { RecordService, WriteContext } from './record-service.ts';
import type { RecordStore } from './record-store.ts';
import { stateOfStatus } from './state-rules.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An entity-typed action parameter: `{ "@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": "<guid>" }`. */
const entityParameterSchema = z.record(z.string(), z.unknown());

/**
 * "QualifyLead Action" (Web API action reference): CreateAccount, CreateContact, CreateOpportunity and Status are
 * non-nullable, the entity parameters optional. Booleans and Status arrive as JSON values; a numeric string Status is
 * tolerated as for WinOpportunity.
 */
const qualifyRequestSchema = z
  .object({
    CreateAccount: z.boolean(),
    CreateContact: z.boolean(),
    CreateOpportunity: z.boolean(),
    Status: z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]),
    OpportunityCurrencyId: entityParameterSchema.optional(),
    OpportunityCustomerId: entityParameterSchema.optional(),
    SourceCampaignId: entityParameterSchema.optional(),
    ProcessInstanceId: entityParameterSchema.optional(),
  })
  .loose();

/** What the action returns for each created row (`Collection(crmbaseentity)`). */
export interface CreatedReference {
  entity: EntityDefinition;
  id: string;
}

/** Lead columns copied to the new rows, as the default lead → account / contact / opportunity relationship mappings do. */
const ACCOUNT_FROM_LEAD: Readonly<Record<string, string>> = {
  companyname: 'name',
  websiteurl: 'websiteurl',
  telephone1: 'telephone1',
  address1_line1: 'address1_line1',
  address1_line2: 'address1_line2',
  address1_city: 'address1_city',
  address1_stateorprovince: 'address1_stateorprovince',
  address1_postalcode: 'address1_postalcode',
  address1_country: 'address1_country',
};
const CONTACT_FROM_LEAD: Readonly<Record<string, string>> = {
  firstname: 'firstname',
  lastname: 'lastname',
  emailaddress1: 'emailaddress1',
  telephone1: 'telephone1',
  jobtitle: 'jobtitle',
  address1_line1: 'address1_line1',
  address1_city: 'address1_city',
  address1_postalcode: 'address1_postalcode',
  address1_country: 'address1_country',
};
const OPPORTUNITY_FROM_LEAD: Readonly<Record<string, string>> = {
  subject: 'name',
  description: 'description',
  estimatedamount: 'estimatedvalue',
  estimatedclosedate: 'estimatedclosedate',
  transactioncurrencyid: 'transactioncurrencyid',
};

/**
 * QualifyLead ("QualifyLead Action"; "QualifyLeadRequest Class"): qualifies an open lead and creates the account,
 * contact and opportunity asked for, linked to it — the opportunity through `originatingleadid`, the contact under the
 * new account (Contact.parentcustomerid), and the lead pointing at the new account and contact (parentaccountid /
 * parentcontactid). All or nothing: a failure leaves the lead open and creates nothing, and announces nothing. Each
 * created row raises Create, the lead's state change raises Update (whether real Dataverse also raises Update for
 * the lead, next to the QualifyLead message, is UNCONFIRMED; announcing it is the tolerant choice for a product
 * registered on Create and Update only).
 */
export class LeadQualifier {
  constructor(
    private readonly registry: MetadataRegistry,
    private readonly store: RecordStore,
    private readonly records: RecordService,
  ) {}

  qualify(leadId: string, body: unknown, context: WriteContext): CreatedReference[] {
    const parsed = parseWithProblems(qualifyRequestSchema, body ?? {});
    if (!parsed.ok) throw badRequest(`Invalid QualifyLead request: ${summarizeProblems(parsed.problems)}`);
    const request = parsed.value;
    const leadEntity = this.registry.requireEntity('lead');
    const lead = this.store.get('lead', leadId.toLowerCase());
    if (!lead) throw recordNotFound('lead', leadId);
    if (lead.values.statecode !== 0) {
      // The platform's wording and code for this case are UNCONFIRMED; the status (400) and body shape are its usual ones.
      throw badRequest(`The lead ${lead.id} is already closed (qualified or disqualified) and cannot be qualified again.`, ErrorCode.InvalidArgument);
    }
    if (stateOfStatus(leadEntity, request.Status) !== 1) {
      throw badRequest(`${request.Status} is not a valid status code for state code LeadState.Qualified on lead with Id ${lead.id}.`, ErrorCode.InvalidArgument);
    }
    const customer = request.OpportunityCustomerId ? this.existingReference(request.OpportunityCustomerId, ['account', 'contact'], 'OpportunityCustomerId') : undefined;
    const currency = request.OpportunityCurrencyId ? this.existingReference(request.OpportunityCurrencyId, ['transactioncurrency'], 'OpportunityCurrencyId') : undefined;
    if (request.CreateAccount && !nonEmpty(lead.values.companyname)) {
      // An account needs a name; the lead's company name is where it comes from (lead → account mapping).
      throw badRequest(`CreateAccount needs the lead's companyname: lead ${lead.id} has none.`, ErrorCode.InvalidArgument);
    }

    // Events of a failed qualification must never be published: collect them apart and hand them over at the end.
    const local = new EventCollector();
    const inner: WriteContext = { ...context, events: local };
    const created = this.store.transaction(() => this.apply(leadEntity, lead, request, { customer, currency }, inner));
    for (const event of local.drain()) context.events.add(event);
    return created;
  }

  private apply(
    leadEntity: EntityDefinition,
    lead: StoredRecord,
    request: z.output<typeof qualifyRequestSchema>,
    given: { customer: EntityReferenceValue | undefined; currency: EntityReferenceValue | undefined },
    context: WriteContext,
  ): CreatedReference[] {
    const created: CreatedReference[] = [];
    const leadRef: EntityReferenceValue = { id: lead.id, logicalName: 'lead' };
    let account: EntityReferenceValue | undefined;
    let contact: EntityReferenceValue | undefined;

    if (request.CreateAccount) {
      const entity = this.registry.requireEntity('account');
      const values = copied(lead.values, ACCOUNT_FROM_LEAD, entity);
      if (entity.attributes.has('originatingleadid')) values.originatingleadid = leadRef;
      const row = this.records.create(entity, { values, sent: Object.keys(values) }, context);
      account = { id: row.id, logicalName: 'account' };
      created.push({ entity, id: row.id });
    }
    if (request.CreateContact) {
      const entity = this.registry.requireEntity('contact');
      const values = copied(lead.values, CONTACT_FROM_LEAD, entity);
      if (account) values.parentcustomerid = account;
      if (entity.attributes.has('originatingleadid')) values.originatingleadid = leadRef;
      const row = this.records.create(entity, { values, sent: Object.keys(values) }, context);
      contact = { id: row.id, logicalName: 'contact' };
      created.push({ entity, id: row.id });
    }
    if (request.CreateOpportunity) {
      const entity = this.registry.requireEntity('opportunity');
      const values = copied(lead.values, OPPORTUNITY_FROM_LEAD, entity);
      values.originatingleadid = leadRef;
      if (given.currency) values.transactioncurrencyid = given.currency;
      const existingAccount = isEntityReference(lead.values.parentaccountid) ? lead.values.parentaccountid : undefined;
      const existingContact = isEntityReference(lead.values.parentcontactid) ? lead.values.parentcontactid : undefined;
      const customer = given.customer ?? account ?? existingAccount ?? contact ?? existingContact;
      if (customer) values.customerid = customer;
      const parentAccount = account ?? existingAccount ?? (given.customer?.logicalName === 'account' ? given.customer : undefined);
      const parentContact = contact ?? existingContact;
      if (parentAccount) values.parentaccountid = parentAccount;
      if (parentContact) values.parentcontactid = parentContact;
      const row = this.records.create(entity, { values, sent: Object.keys(values) }, context);
      created.push({ entity, id: row.id });
    }

    const changes: RecordValues = { statecode: 1, statuscode: request.Status };
    if (account) changes.parentaccountid = account;
    if (contact) changes.parentcontactid = contact;
    this.records.update(leadEntity, lead, { values: changes, sent: Object.keys(changes) }, { ...context, system: true });
    return created;
  }

  /** Resolves an entity-typed parameter to an existing row of one of `allowed`, or fails as Dataverse does. */
  private existingReference(parameter: Record<string, unknown>, allowed: readonly string[], name: string): EntityReferenceValue {
    const odataType = parameter['@odata.type'];
    const typed = typeof odataType === 'string' ? odataType.replace(/^#?Microsoft\.Dynamics\.CRM\./, '') : undefined;
    const candidates = typed !== undefined ? [typed] : allowed;
    for (const logicalName of candidates) {
      if (!allowed.includes(logicalName)) break;
      const entity = this.registry.requireEntity(logicalName);
      const id = parameter[entity.primaryIdAttribute];
      if (typeof id !== 'string') continue;
      if (!GUID.test(id)) throw badRequest(`${name}: '${id}' is not a valid ${entity.primaryIdAttribute}.`);
      if (!this.store.get(logicalName, id.toLowerCase())) throw recordNotFound(logicalName, id);
      return { id: id.toLowerCase(), logicalName };
    }
    throw badRequest(`${name} must be one of ${allowed.join(', ')} with its primary id, e.g. { "@odata.type": "Microsoft.Dynamics.CRM.${allowed[0] ?? ''}", "${allowed[0] ?? ''}id": "<guid>" }.`);
  }
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.trim() !== '';
}

function copied(source: RecordValues, mapping: Readonly<Record<string, string>>, target: EntityDefinition): RecordValues {
  const values: RecordValues = {};
  for (const [from, to] of Object.entries(mapping)) {
    const value = source[from];
    if (value !== undefined && value !== null && target.attributes.has(to)) values[to] = value;
  }
  return values;
}
