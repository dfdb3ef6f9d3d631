import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest, ErrorCode } from '../errors.ts';
import type { FieldValue } from '../schema/field-model.ts';
import { LEAD_STATUSES } from '../schema/standard-objects.ts';
import type { RecordService } from './record-service.ts';
import { assertNotConvertedLead } from './record-service.ts';
import type { RecordStore, StoredRecord } from './record-store.ts';
import type { StageCatalog } from './stages.ts';
import type { WriteContext } from './record-changes.ts';

/**
 * Why a control route and not an API endpoint: Salesforce converts leads through the SOAP API's `convertLead()` call
 * and Apex `Database.convertLead`, neither of which the sandbox serves (its REST surface has no lead-convert
 * resource). Tests convert as a seller would in Lightning, through `POST /_sandbox/leads/:id/convert`, whose body is
 * the SOAP `LeadConvert` and whose answer is the `LeadConvertResult` (SOAP API "convertLead()").
 */
export const leadConvertSchema = z
  .object({
    convertedStatus: z.string().min(1).max(255),
    accountId: z.string().min(15).max(18).optional(),
    contactId: z.string().min(15).max(18).optional(),
    doNotCreateOpportunity: z.boolean().optional(),
    opportunityName: z.string().min(1).max(120).optional(),
    ownerId: z.string().min(15).max(18).optional(),
    overwriteLeadSource: z.boolean().optional(),
    sendNotificationEmail: z.boolean().optional(),
  })
  .strict();

export interface LeadConvertResult {
  leadId: string;
  accountId: string;
  contactId: string;
  opportunityId: string | null;
  success: true;
  errors: [];
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
 * `convertLead()` (SOAP API; Apex `Database.LeadConvert`): merges the lead into an existing account/contact or creates
 * them, creates an opportunity unless `doNotCreateOpportunity`, and marks the lead converted (`IsConverted`,
 * `Converted*Id`, `ConvertedDate`, the converted status). All in one transaction, so the change events (CREATE of each
 * new row, UPDATE of the lead) fire only if all of it commits. A converted lead cannot be converted again.
 */
export class LeadConverter {
  constructor(
    private readonly records: RecordService,
    private readonly store: RecordStore,
    private readonly stages: StageCatalog,
  ) {}

  convert(leadId: string, body: unknown, ctx: WriteContext): LeadConvertResult {
    const parsed = parseWithProblems(leadConvertSchema, body ?? {});
    if (!parsed.ok) throw badRequest(ErrorCode.InvalidInput, `Invalid LeadConvert: ${summarizeProblems(parsed.problems)}`);
    const request = parsed.value;
    const leadType = this.records.requireType('Lead');
    const lead = this.records.requireRecord(leadType, leadId);
    assertNotConvertedLead(leadType, lead);
    if (!CONVERTED_STATUSES.has(request.convertedStatus.toLowerCase())) {
      throw badRequest(ErrorCode.InvalidStatus, `invalid convertedStatus: ${request.convertedStatus}`, ['convertedStatus']);
    }
    if (request.contactId !== undefined && request.accountId === undefined) {
      throw badRequest(ErrorCode.RequiredFieldMissing, 'accountId is required when contactId is given: the contact must belong to that account', ['accountId']);
    }
    return this.store.transaction(() => this.apply(lead, request, ctx));
  }

  private apply(lead: StoredRecord, request: z.output<typeof leadConvertSchema>, ctx: WriteContext): LeadConvertResult {
    const owner: Values = request.ownerId !== undefined ? { OwnerId: request.ownerId } : {};
    const accountType = this.records.requireType('Account');
    const contactType = this.records.requireType('Contact');
    const account = request.accountId !== undefined ? this.records.requireRecord(accountType, request.accountId) : this.records.create(accountType, { ...pick(lead.values, ACCOUNT_FROM_LEAD), ...owner }, ctx);

    let contact: StoredRecord;
    if (request.contactId !== undefined) {
      contact = this.records.requireRecord(contactType, request.contactId);
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
          // Lightning proposes "<Company>-" as the name (UNCONFIRMED for the API default).
          Name: request.opportunityName ?? `${String(lead.values.Company ?? '')}-`,
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
    return { leadId: lead.id, accountId: account.id, contactId: contact.id, opportunityId, success: true, errors: [] };
  }
}
