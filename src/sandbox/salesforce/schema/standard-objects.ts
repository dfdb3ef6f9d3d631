import { KEY_PREFIX } from '../ids.ts';
import { auditFields, field, picklistEntries, READ_ONLY, type FieldDefinition } from './field-model.ts';
import { ObjectRegistry, SObjectType, type ObjectCapabilities } from './object-model.ts';

/** Org features that decide which objects exist. */
export interface OrgFeatures {
  /**
   * Team selling ("Opportunity Teams") is enabled: OpportunityTeamMember exists only then (Object Reference
   * "OpportunityTeamMember": "This object is available only in organizations that have enabled team selling").
   */
  opportunityTeams: boolean;
}

export interface CurrencySettings {
  /**
   * When false the org is single-currency and no object has CurrencyIsoCode (Salesforce Object Reference
   * "Opportunity").
   */
  multiCurrency: boolean;
  /** Active currencies: the CurrencyIsoCode picklist. */
  currencies: readonly string[];
  corporateCurrency: string;
}

/** The default Lead Status values of a new org. */
export const LEAD_STATUSES = ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'] as const;

/** Defaults of a new org (Salesforce Object Reference "Opportunity", names UNCONFIRMED but widely seen). */
const OPPORTUNITY_TYPES = ['Existing Customer - Upgrade', 'Existing Customer - Replacement', 'Existing Customer - Downgrade', 'New Customer'];
const LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'];
const ACCOUNT_TYPES = ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Channel Partner / Reseller', 'Installation Partner', 'Technology Partner', 'Other'];
const INDUSTRIES = ['Agriculture', 'Banking', 'Communications', 'Education', 'Energy', 'Finance', 'Government', 'Healthcare', 'Manufacturing', 'Retail', 'Technology', 'Other'];
export const FORECAST_CATEGORIES = [
  { api: 'Omitted', name: 'Omitted' },
  { api: 'Pipeline', name: 'Pipeline' },
  { api: 'BestCase', name: 'Best Case' },
  { api: 'Forecast', name: 'Commit' },
  { api: 'Closed', name: 'Closed' },
] as const;

const DATA_OBJECT: ObjectCapabilities = { createable: true, updateable: true, deletable: true, queryable: true, changeEvents: true };
const READ_ONLY_OBJECT: ObjectCapabilities = { createable: false, updateable: false, deletable: false, queryable: true, changeEvents: false };

function currencyField(settings: CurrencySettings): FieldDefinition[] {
  if (!settings.multiCurrency) return [];
  return [
    field.picklist('CurrencyIsoCode', 'Currency ISO Code', picklistEntries(settings.currencies, settings.corporateCurrency), {
      length: 3,
      restrictedPicklist: true,
      defaultedOnCreate: true,
      nillable: false,
    }),
  ];
}

const owner = (): FieldDefinition => field.reference('OwnerId', 'Owner ID', ['User'], 'Owner', { nillable: false, defaultedOnCreate: true });

function opportunity(settings: CurrencySettings): SObjectType {
  return new SObjectType('Opportunity', 'Opportunity', 'Opportunities', KEY_PREFIX.Opportunity, DATA_OBJECT, [
    field.id(),
    field.reference('AccountId', 'Account ID', ['Account'], 'Account'),
    field.text('Name', 'Name', 120, { nillable: false }),
    field.textarea('Description', 'Description', 32000),
    // Values come from OpportunityStage and are refreshed when stages change.
    field.picklist('StageName', 'Stage', [], { length: 255, nillable: false, restrictedPicklist: true }),
    field.currency('Amount', 'Amount'),
    field.percent('Probability', 'Probability (%)', { defaultedOnCreate: true }),
    field.currency('ExpectedRevenue', 'Expected Amount', { ...READ_ONLY, calculated: true }),
    field.date('CloseDate', 'Close Date', { nillable: false }),
    field.picklist('Type', 'Opportunity Type', picklistEntries(OPPORTUNITY_TYPES)),
    field.text('NextStep', 'Next Step', 255),
    field.picklist('LeadSource', 'Lead Source', picklistEntries(LEAD_SOURCES)),
    field.boolean('IsClosed', 'Closed', READ_ONLY),
    field.boolean('IsWon', 'Won', READ_ONLY),
    field.picklist('ForecastCategory', 'Forecast Category', FORECAST_CATEGORIES.map((c) => ({ value: c.api, label: c.name, active: true, defaultValue: false })), {
      ...READ_ONLY,
      restrictedPicklist: true,
    }),
    field.picklist('ForecastCategoryName', 'Forecast Category', picklistEntries(FORECAST_CATEGORIES.map((c) => c.name)), {
      restrictedPicklist: true,
      defaultedOnCreate: true,
    }),
    ...currencyField(settings),
    field.reference('ContactId', 'Contact ID', ['Contact'], 'Contact'),
    owner(),
    ...auditFields(),
  ]);
}

function personName(): FieldDefinition[] {
  return [
    field.text('LastName', 'Last Name', 80, { nillable: false, compound: { field: 'Name', component: 'LastName' } }),
    field.text('FirstName', 'First Name', 40, { compound: { field: 'Name', component: 'FirstName' } }),
    // Lead.Name and Contact.Name are read-only concatenations; change events carry the compound instead.
    field.text('Name', 'Full Name', 121, { ...READ_ONLY, calculated: true }),
  ];
}

function address(prefix: string, compound: string): FieldDefinition[] {
  const part = (component: string, label: string, length: number): FieldDefinition =>
    (component === 'Street' ? field.textarea : field.text)(`${prefix}${component}`, `${prefix ? `${prefix} ` : ''}${label}`, length, {
      compound: { field: compound, component },
    });
  return [part('Street', 'Street', 255), part('City', 'City', 40), part('State', 'State/Province', 80), part('PostalCode', 'Zip/Postal Code', 20), part('Country', 'Country', 80)];
}

function lead(settings: CurrencySettings): SObjectType {
  return new SObjectType('Lead', 'Lead', 'Leads', KEY_PREFIX.Lead, DATA_OBJECT, [
    field.id(),
    ...personName(),
    field.text('Title', 'Title', 128),
    field.text('Company', 'Company', 255, { nillable: false }),
    ...address('', 'Address'),
    field.phone('Phone', 'Phone'),
    field.phone('MobilePhone', 'Mobile Phone'),
    field.email('Email', 'Email'),
    field.url('Website', 'Website'),
    field.textarea('Description', 'Description', 32000),
    field.picklist('LeadSource', 'Lead Source', picklistEntries(LEAD_SOURCES)),
    // A real org defaults Status from the picklist; Microsoft's connector docs ("Co-sell connector for Salesforce CRM -
    // overview") show creation failing without it, so the sandbox requires it and a client that forgets it finds out
    // here rather than in production.
    field.picklist('Status', 'Status', picklistEntries(LEAD_STATUSES), { nillable: false, restrictedPicklist: true, required: true }),
    field.picklist('Industry', 'Industry', picklistEntries(INDUSTRIES)),
    ...currencyField(settings),
    owner(),
    field.boolean('IsConverted', 'Converted', READ_ONLY),
    // Set only by lead conversion (SOAP API "convertLead()", Object Reference "Lead").
    field.reference('ConvertedAccountId', 'Converted Account ID', ['Account'], 'ConvertedAccount', READ_ONLY),
    field.reference('ConvertedContactId', 'Converted Contact ID', ['Contact'], 'ConvertedContact', READ_ONLY),
    field.reference('ConvertedOpportunityId', 'Converted Opportunity ID', ['Opportunity'], 'ConvertedOpportunity', READ_ONLY),
    field.date('ConvertedDate', 'Converted Date', READ_ONLY),
    ...auditFields(),
  ]);
}

function account(settings: CurrencySettings): SObjectType {
  return new SObjectType('Account', 'Account', 'Accounts', KEY_PREFIX.Account, DATA_OBJECT, [
    field.id(),
    field.text('Name', 'Account Name', 255, { nillable: false }),
    field.picklist('Type', 'Account Type', picklistEntries(ACCOUNT_TYPES)),
    field.reference('ParentId', 'Parent Account ID', ['Account'], 'Parent'),
    ...address('Billing', 'BillingAddress'),
    field.phone('Phone', 'Account Phone'),
    field.url('Website', 'Website'),
    field.picklist('Industry', 'Industry', picklistEntries(INDUSTRIES)),
    field.currency('AnnualRevenue', 'Annual Revenue'),
    field.double('NumberOfEmployees', 'Employees', { precision: 8 }),
    field.textarea('Description', 'Account Description', 32000),
    ...currencyField(settings),
    owner(),
    ...auditFields(),
  ]);
}

function contact(settings: CurrencySettings): SObjectType {
  return new SObjectType('Contact', 'Contact', 'Contacts', KEY_PREFIX.Contact, DATA_OBJECT, [
    field.id(),
    field.reference('AccountId', 'Account ID', ['Account'], 'Account'),
    ...personName(),
    ...address('Mailing', 'MailingAddress'),
    field.phone('Phone', 'Business Phone'),
    field.phone('MobilePhone', 'Mobile Phone'),
    field.email('Email', 'Email'),
    field.text('Title', 'Title', 128),
    field.textarea('Description', 'Contact Description', 32000),
    ...currencyField(settings),
    owner(),
    ...auditFields(),
  ]);
}

function opportunityStage(): SObjectType {
  const ro = READ_ONLY;
  return new SObjectType('OpportunityStage', 'Opportunity Stage', 'Opportunity Stages', KEY_PREFIX.OpportunityStage, READ_ONLY_OBJECT, [
    field.id(),
    field.text('MasterLabel', 'Master Label', 255, ro),
    field.text('ApiName', 'Api Name', 255, ro),
    field.boolean('IsActive', 'Active', ro),
    field.double('SortOrder', 'Sort Order', { ...ro, precision: 9 }),
    field.boolean('IsClosed', 'Closed', ro),
    field.boolean('IsWon', 'Won', ro),
    field.picklist('ForecastCategory', 'Forecast Type', FORECAST_CATEGORIES.map((c) => ({ value: c.api, label: c.name, active: true, defaultValue: false })), ro),
    field.picklist('ForecastCategoryName', 'Forecast Category', picklistEntries(FORECAST_CATEGORIES.map((c) => c.name)), ro),
    field.percent('DefaultProbability', 'Probability (%)', ro),
    field.text('Description', 'Description', 255, ro),
    ...auditFields(),
  ]);
}

function user(settings: CurrencySettings): SObjectType {
  const ro = READ_ONLY;
  return new SObjectType('User', 'User', 'Users', KEY_PREFIX.User, READ_ONLY_OBJECT, [
    field.id(),
    field.text('Username', 'Username', 80, { ...ro, unique: true }),
    field.text('LastName', 'Last Name', 80, ro),
    field.text('FirstName', 'First Name', 40, ro),
    field.text('Name', 'Full Name', 121, { ...ro, calculated: true }),
    field.text('Alias', 'Alias', 8, ro),
    field.email('Email', 'Email', ro),
    field.boolean('IsActive', 'Active', ro),
    field.picklist('UserType', 'User Type', picklistEntries(['Standard']), ro),
    ...(settings.multiCurrency ? [field.picklist('DefaultCurrencyIsoCode', 'User Currency', picklistEntries(settings.currencies), { ...ro, length: 3 })] : []),
    ...auditFields(),
  ]);
}

function organization(): SObjectType {
  const ro = READ_ONLY;
  return new SObjectType('Organization', 'Organization', 'Organizations', KEY_PREFIX.Organization, READ_ONLY_OBJECT, [
    field.id(),
    field.text('Name', 'Name', 80, ro),
    field.picklist('OrganizationType', 'Edition', picklistEntries(['Developer Edition', 'Enterprise Edition', 'Unlimited Edition']), ro),
    field.text('InstanceName', 'Instance Name', 5, ro),
    field.boolean('IsSandbox', 'Is Sandbox', ro),
    field.picklist('DefaultLocaleSidKey', 'Locale', picklistEntries(['en_US']), ro),
    field.picklist('LanguageLocaleKey', 'Language', picklistEntries(['en_US']), ro),
    field.picklist('TimeZoneSidKey', 'Time Zone', picklistEntries(['GMT']), ro),
    ...auditFields(),
  ]);
}

/** Multi-currency orgs list their active currencies here; clients validate a referral's currency against it. */
function currencyType(): SObjectType {
  const ro = READ_ONLY;
  return new SObjectType('CurrencyType', 'Currency', 'Currencies', KEY_PREFIX.CurrencyType, READ_ONLY_OBJECT, [
    field.id(),
    field.text('IsoCode', 'Currency ISO Code', 3, ro),
    field.double('ConversionRate', 'Conversion Rate', { ...ro, precision: 18, scale: 6 }),
    field.double('DecimalPlaces', 'Decimal Places', { ...ro, precision: 1 }),
    field.boolean('IsActive', 'Active', ro),
    field.boolean('IsCorporate', 'Corporate', ro),
    ...auditFields(),
  ]);
}

/** The Role picklist of a new org (Object Reference "OpportunityContactRole": "Business User, Decision Maker…"). */
export const CONTACT_ROLES = ['Business User', 'Decision Maker', 'Economic Buyer', 'Economic Decision Maker', 'Evaluator', 'Executive Sponsor', 'Influencer', 'Technical Buyer', 'Other'];
/** The Opportunity Team Roles picklist of a new org (values UNCONFIRMED; admins edit the list, so it is not restricted). */
export const TEAM_MEMBER_ROLES = ['Account Manager', 'Channel Manager', 'Executive Sponsor', 'Lead Qualifier', 'Pre-Sales Consultant', 'Sales Manager', 'Sales Rep', 'Opportunity Owner'];
export const OPPORTUNITY_ACCESS_LEVELS = ['Read', 'Edit', 'All'];

/**
 * Object Reference "OpportunityContactRole": OpportunityId is required and cannot be updated; ContactId is required and
 * updateable; IsPrimary defaults to false and "each Opportunity has only one primary contact"; Role is a nillable
 * picklist the admin maintains. Several rows for the same opportunity and contact are allowed (the docs advise against
 * it but do not forbid it). Change Data Capture supports the object (Change Data Capture Developer Guide "Change Event
 * Object Support" lists OpportunityContactRole). Deleting the opportunity deletes the role; deleting the contact does
 * not (see ContactId).
 */
function opportunityContactRole(settings: CurrencySettings): SObjectType {
  return new SObjectType('OpportunityContactRole', 'Opportunity Contact Role', 'Opportunity Contact Roles', KEY_PREFIX.OpportunityContactRole, DATA_OBJECT, [
    field.id(),
    field.reference('OpportunityId', 'Opportunity ID', ['Opportunity'], 'Opportunity', { nillable: false, updateable: false, cascadeDelete: true }),
    // No cascade from the contact: the Object Reference warns that queries "may also return values for this field for
    // contacts that have been deleted", so the role outlives its contact.
    field.reference('ContactId', 'Contact ID', ['Contact'], 'Contact', { nillable: false }),
    field.picklist('Role', 'Role', picklistEntries(CONTACT_ROLES)),
    field.boolean('IsPrimary', 'Primary'),
    ...currencyField(settings),
    ...auditFields(),
  ]);
}

/**
 * Object Reference "OpportunityTeamMember": OpportunityId and UserId are required and cannot be updated;
 * TeamMemberRole is a nillable picklist; OpportunityAccessLevel (Read/Edit/All, restricted) is editable from API 36.0;
 * Name is the member's name, read-only. "If you create a record for this object and the OpportunityId and UserId
 * combination matches an existing record, the system updates any modified fields and returns the existing record" —
 * so a second member row for the same user is never created (record service). Not in the Change Data Capture object
 * list, so no change events.
 */
function opportunityTeamMember(): SObjectType {
  const capabilities: ObjectCapabilities = { ...DATA_OBJECT, changeEvents: false };
  return new SObjectType('OpportunityTeamMember', 'Opportunity Team Member', 'Opportunity Team Members', KEY_PREFIX.OpportunityTeamMember, capabilities, [
    field.id(),
    field.reference('OpportunityId', 'Opportunity ID', ['Opportunity'], 'Opportunity', { nillable: false, updateable: false, cascadeDelete: true }),
    field.reference('UserId', 'User ID', ['User'], 'User', { nillable: false, updateable: false }),
    field.text('Name', 'Opportunity Team Member Name', 361, { ...READ_ONLY, calculated: true }),
    field.text('Title', 'Title', 80, READ_ONLY),
    field.picklist('TeamMemberRole', 'Team Role', picklistEntries(TEAM_MEMBER_ROLES)),
    // The default when a create leaves it out is UNCONFIRMED; Read is the least access, so the tolerant choice.
    field.picklist('OpportunityAccessLevel', 'Opportunity Access', picklistEntries(OPPORTUNITY_ACCESS_LEVELS, 'Read'), {
      length: 40,
      restrictedPicklist: true,
      nillable: false,
      defaultedOnCreate: true,
      defaultValue: 'Read',
    }),
    ...auditFields(),
  ]);
}

/** The data org: the objects the connector reads and writes, plus the read-only ones it looks things up in. */
export function createStandardRegistry(settings: CurrencySettings, features: OrgFeatures = { opportunityTeams: true }): ObjectRegistry {
  const registry = new ObjectRegistry();
  const types = [opportunity(settings), lead(settings), account(settings), contact(settings), opportunityContactRole(settings), opportunityStage(), user(settings), organization()];
  if (features.opportunityTeams) types.push(opportunityTeamMember());
  if (settings.multiCurrency) types.push(currencyType());
  for (const type of types) registry.register(type);
  return registry;
}

/**
 * The main business objects: custom fields (Tooling API) and outbound messages may be defined on them, and data resets
 * clear them.
 */
export const WRITABLE_OBJECTS = ['Opportunity', 'Lead', 'Account', 'Contact'] as const;

/** The opportunity's contacts and team: writable through the REST API and the control API too, and cleared by resets. */
export const OPPORTUNITY_RELATED_OBJECTS = ['OpportunityContactRole', 'OpportunityTeamMember'] as const;
