import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest, ErrorCode } from '../errors.ts';
import type { FieldValue } from '../schema/field-model.ts';
import type { SObjectType } from '../schema/object-model.ts';
import { LEAD_STATUSES } from '../schema/standard-objects.ts';
import type { RecordService } from './record-service.ts';
import { assertNotConvertedLead } from './record-service.ts';
import type { RecordStore, StoredRecord } from './record-store.ts';
import type { StageCatalog } from './stages.ts';
import type { WriteContext } from './record-changes.ts';

/**
 * One `LeadConvert` of the SOAP API's `convertLead()` call (SOAP API Developer Guide, "convertLead()"), the elements
 * the sandbox models. `leadId` and `convertedStatus` are required; ids are checked against the rows, not by shape, so a
 * wrong one is the per-lead error a real org gives rather than a malformed request.
 */
export const leadConvertSchema = z
  .object({
    leadId: z.string().min(1).max(255),
    convertedStatus: z.string().min(1).max(255),
    accountId: z.string().min(1).max(255).optional(),
    contactId: z.string().min(1).max(255).optional(),
    doNotCreateOpportunity: z.boolean().optional(),
    opportunityName: z.string().min(1).max(120).optional(),
    ownerId: z.string().min(1).max(255).optional(),
    overwriteLeadSource: z.boolean().optional(),
    sendNotificationEmail: z.boolean().optional(),
  })
  .strict();

export type LeadConvert = z.output<typeof leadConvertSchema>;

/** The element names of a LeadConvert the sandbox reads; the SOAP reader refuses others by name. */
export const LEAD_CONVERT_FIELDS: ReadonlySet<string> = new Set(Object.keys(leadConvertSchema.shape));
const BOOLEAN_FIELDS: ReadonlySet<string> = new Set(['doNotCreateOpportunity', 'overwriteLeadSource', 'sendNotificationEmail']);

export function isBooleanLeadConvertField(name: string): boolean {
  return BOOLEAN_FIELDS.has(name);
}

const REQUIRED_FIELDS = ['leadId', 'convertedStatus'] as const;

/** A successful `LeadConvertResult` (SOAP API "LeadConvertResult"); failures are the SalesforceError thrown instead. */
export interface LeadConvertResult {
  leadId: string;
  accountId: string;
  contactId: string;
  opportunityId: string | null;
}

/** The default org's only converted Lead Status (`LeadStatus.IsConverted`); the others cannot end a conversion. */
const CONVERTED_STATUSES: ReadonlySet<string> = new Set(LEAD_STATUSES.filter((status) => status === 'Closed - Converted').map((status) => status.toLowerCase()));

type Values = Record<string, FieldValue>;

function pick(source: Readonly<Values>, mapping: Readonly<Record<string, string>>): Values {
  const values: Values = {};
  for (const [from, to] of Object.entries(mapping)) {
    const value = source[from];
    if (value !== null && value !== undefined) values[to] = value;
  }
  return values;
}

/** Standard lead field mapping (Salesforce Help "Map Custom Lead Fields for Lead Conversion": standard fields map themselves). */
const ACCOUNT_FROM_LEAD = { Company: 'Name', Street: 'BillingStreet', City: 'BillingCity', State: 'BillingState', PostalCode: 'BillingPostalCode', Country: 'BillingCountry', Phone: 'Phone', Website: 'Website', Industry: 'Industry' };
const CONTACT_FROM_LEAD = { FirstName: 'FirstName', LastName: 'LastName', Title: 'Title', Email: 'Email', Phone: 'Phone', MobilePhone: 'MobilePhone', Street: 'MailingStreet', City: 'MailingCity', State: 'MailingState', PostalCode: 'MailingPostalCode', Country: 'MailingCountry' };

/** The last day of the current quarter: the close date a conversion gives its new opportunity (UNCONFIRMED). */
function endOfQuarter(now: Date): string {
  const quarterEndMonth = Math.floor(now.getUTCMonth() / 3) * 3 + 3;
  return new Date(Date.UTC(now.getUTCFullYear(), quarterEndMonth, 0)).toISOString().slice(0, 10);
}

/**
 * `convertLead()` (SOAP API Developer Guide "convertLead()"; Apex `Database.LeadConvert`): merges the lead into an
 * existing account/contact or creates them, creates an opportunity unless `doNotCreateOpportunity`, and marks the lead
 * converted (`IsConverted`, `Converted*Id`, `ConvertedDate`, the converted status). One lead is one transaction, so its
 * change events (CREATE of each new row, UPDATE of the lead) fire only if all of it commits. A converted lead cannot be
 * converted again. Every refusal is a SalesforceError whose code and message become the lead's `Error` in the result.
 */
export class LeadConverter {
  constructor(
    private readonly records: RecordService,
    private readonly store: RecordStore,
    private readonly stages: StageCatalog,
  ) {}

  convert(input: Readonly<Record<string, unknown>>, ctx: WriteContext): LeadConvertResult {
    const missing = REQUIRED_FIELDS.filter((name) => input[name] === undefined || input[name] === '');
    if (missing.length > 0) throw badRequest(ErrorCode.RequiredFieldMissing, `Required fields are missing: [${missing.join(', ')}]`, missing);
    const parsed = parseWithProblems(leadConvertSchema, input);
    if (!parsed.ok) throw badRequest(ErrorCode.InvalidInput, `Invalid LeadConvert: ${summarizeProblems(parsed.problems)}`);
    const request = parsed.value;
    const leadType = this.records.requireType('Lead');
    const lead = this.reference(leadType, request.leadId, 'leadId');
    assertNotConvertedLead(leadType, lead);
    if (!CONVERTED_STATUSES.has(request.convertedStatus.toLowerCase())) {
      throw badRequest(ErrorCode.InvalidStatus, `invalid convertedStatus: ${request.convertedStatus}`, ['convertedStatus']);
    }
    if (request.contactId !== undefined && request.accountId === undefined) {
      throw badRequest(ErrorCode.RequiredFieldMissing, 'accountId is required when contactId is given: the contact must belong to that account', ['accountId']);
    }
    // "convertLead()": overwriteLeadSource needs the contactId of the target contact. (The sandbox's Contact has no
    // LeadSource, so there is nothing to overwrite.)
    if (request.overwriteLeadSource === true && request.contactId === undefined) {
      throw badRequest(ErrorCode.RequiredFieldMissing, 'contactId is required when overwriteLeadSource is true', ['contactId']);
    }
    // "convertLead()": with doNotCreateOpportunity, opportunityName "must be left blank; otherwise, an error is
    // returned" (the code is UNCONFIRMED).
    if (request.doNotCreateOpportunity === true && request.opportunityName !== undefined) {
      throw badRequest(ErrorCode.FieldIntegrityException, 'opportunityName must be blank when doNotCreateOpportunity is true', ['opportunityName']);
    }
    if (request.ownerId !== undefined) this.reference(this.records.requireType('User'), request.ownerId, 'ownerId');
    return this.store.transaction(() => this.apply(lead, request, ctx));
  }

  /**
   * A row named by an id argument. An unknown, deleted or mistyped id is a per-lead error, not a fault; its code is
   * UNCONFIRMED (INVALID_CROSS_REFERENCE_KEY is what Salesforce answers for a reference to a row that is not there).
   */
  private reference(type: SObjectType, id: string, argument: string): StoredRecord {
    const record = this.records.find(type, id);
    if (!record) throw badRequest(ErrorCode.InvalidCrossReferenceKey, `invalid cross reference id: ${argument}`, [argument]);
    if (record.deletedAt !== null) throw badRequest(ErrorCode.EntityIsDeleted, `entity is deleted: ${argument}`, [argument]);
    return record;
  }

  private apply(lead: StoredRecord, request: LeadConvert, ctx: WriteContext): LeadConvertResult {
    // "convertLead()": without ownerId, "the owner of the new object will be the owner of the lead".
    const ownerId = request.ownerId ?? lead.values.OwnerId;
    const owner: Values = ownerId !== undefined && ownerId !== null ? { OwnerId: ownerId } : {};
    const accountType = this.records.requireType('Account');
    const contactType = this.records.requireType('Contact');
    const account = request.accountId !== undefined ? this.reference(accountType, request.accountId, 'accountId') : this.records.create(accountType, { ...pick(lead.values, ACCOUNT_FROM_LEAD), ...owner }, ctx);

    let contact: StoredRecord;
    if (request.contactId !== undefined) {
      contact = this.reference(contactType, request.contactId, 'contactId');
      if (contact.values.AccountId !== account.id) throw badRequest(ErrorCode.InvalidCrossReferenceKey, 'the contact given by contactId does not belong to the account given by accountId', ['contactId']);
    } else {
      contact = this.records.create(contactType, { ...pick(lead.values, CONTACT_FROM_LEAD), AccountId: account.id, ...owner }, ctx);
    }

    let opportunityId: string | null = null;
    if (request.doNotCreateOpportunity !== true) {
      const firstOpenStage = this.stages.all().find((stage) => stage.values.IsActive === true && stage.values.IsClosed !== true);
      const opportunity = this.records.create(
        this.records.requireType('Opportunity'),
        {
          // "convertLead()": without opportunityName the name "defaults to the company name of the lead".
          Name: request.opportunityName ?? String(lead.values.Company ?? ''),
          AccountId: account.id,
          ContactId: contact.id,
          StageName: firstOpenStage?.values.ApiName ?? 'Prospecting',
          CloseDate: endOfQuarter(new Date()),
          ...(lead.values.LeadSource !== null && lead.values.LeadSource !== undefined ? { LeadSource: lead.values.LeadSource } : {}),
          ...(lead.values.Description !== null && lead.values.Description !== undefined ? { Description: lead.values.Description } : {}),
          ...owner,
        },
        ctx,
      );
      opportunityId = opportunity.id;
    }

    this.records.systemUpdate(
      this.records.requireType('Lead'),
      lead,
      {
        Status: LEAD_STATUSES.find((status) => status.toLowerCase() === request.convertedStatus.toLowerCase()) ?? request.convertedStatus,
        IsConverted: true,
        ConvertedAccountId: account.id,
        ConvertedContactId: contact.id,
        ConvertedOpportunityId: opportunityId,
        ConvertedDate: new Date().toISOString().slice(0, 10),
      },
      ctx,
    );
    return { leadId: lead.id, accountId: account.id, contactId: contact.id, opportunityId };
  }
}
