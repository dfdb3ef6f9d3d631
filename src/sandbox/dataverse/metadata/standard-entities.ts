import type { AttributeDefinition } from './attribute-model.ts';
import { attributesFor, systemColumns, type AttributeBuilders } from './attribute-builders.ts';
import type { EntityDefinition } from './entity-model.ts';
import { stableGuid } from './stable-id.ts';

interface EntitySpec {
  logicalName: string;
  entitySetName: string;
  displayName: string;
  displayCollectionName: string;
  objectTypeCode: number;
  primaryIdAttribute: string;
  primaryNameAttribute: string | null;
  ownershipType: EntityDefinition['ownershipType'];
  changeTrackingEnabled?: boolean;
  isActivity?: boolean;
  readOnly?: boolean;
  stateValidForCreate?: boolean;
}

function define(spec: EntitySpec, columns: (b: AttributeBuilders) => AttributeDefinition[]): EntityDefinition {
  const b = attributesFor(spec.logicalName);
  const attributes = new Map<string, AttributeDefinition>();
  for (const attribute of columns(b)) attributes.set(attribute.logicalName, attribute);
  return {
    metadataId: stableGuid('entity', spec.logicalName),
    logicalName: spec.logicalName,
    schemaName: spec.logicalName.charAt(0).toUpperCase() + spec.logicalName.slice(1),
    entitySetName: spec.entitySetName,
    displayName: spec.displayName,
    displayCollectionName: spec.displayCollectionName,
    primaryIdAttribute: spec.primaryIdAttribute,
    primaryNameAttribute: spec.primaryNameAttribute,
    objectTypeCode: spec.objectTypeCode,
    ownershipType: spec.ownershipType,
    // "Use change tracking to synchronize data with external systems" leaves the opportunity default UNCONFIRMED; the
    // sandbox enables tracking on the sync tables (tolerant).
    changeTrackingEnabled: spec.changeTrackingEnabled ?? false,
    isActivity: spec.isActivity ?? false,
    attributes,
    keys: [],
    readOnly: spec.readOnly ?? false,
    stateValidForCreate: spec.stateValidForCreate ?? true,
  };
}

const activeInactiveState = (b: AttributeBuilders): AttributeDefinition[] => b.onOffStates('Active', 'Inactive');

const address1 = (b: AttributeBuilders): AttributeDefinition[] => [
  b.string('address1_line1', 250, { display: 'Address 1: Street 1' }),
  b.string('address1_line2', 250, { display: 'Address 1: Street 2' }),
  b.string('address1_city', 80, { display: 'Address 1: City' }),
  b.string('address1_stateorprovince', 50, { display: 'Address 1: State/Province' }),
  b.string('address1_postalcode', 20, { display: 'Address 1: ZIP/Postal Code' }),
  b.string('address1_country', 80, { display: 'Address 1: Country/Region' }),
];

const currency = (b: AttributeBuilders): AttributeDefinition[] => [
  b.lookup('transactioncurrencyid', [['transactioncurrency', 'transactioncurrencyid']], { display: 'Currency', required: 'ApplicationRequired' }),
  b.decimal('exchangerate', 10, { readOnly: true, display: 'Exchange Rate' }),
];

export const OPPORTUNITY = (): EntityDefinition =>
  define(
    {
      logicalName: 'opportunity',
      entitySetName: 'opportunities',
      displayName: 'Opportunity',
      displayCollectionName: 'Opportunities',
      objectTypeCode: 3,
      primaryIdAttribute: 'opportunityid',
      primaryNameAttribute: 'name',
      ownershipType: 'UserOwned',
      changeTrackingEnabled: true,
      stateValidForCreate: false,
    },
    (b) => [
      b.primaryId('opportunityid', 'Opportunity'),
      b.string('name', 300, { primaryName: true, display: 'Topic', required: 'ApplicationRequired' }),
      b.money('estimatedvalue', { display: 'Est. Revenue' }),
      b.boolean('isrevenuesystemcalculated', ['User Provided', 'System Calculated'], { display: 'Revenue' }),
      b.money('actualvalue', { display: 'Actual Revenue' }),
      b.money('budgetamount', { display: 'Budget Amount' }),
      b.dateOnly('estimatedclosedate', { display: 'Est. Close Date' }),
      b.dateOnly('actualclosedate', { display: 'Actual Close Date' }),
      b.integer('closeprobability', 0, 100, { display: 'Probability' }),
      b.memo('description', 2000, { display: 'Description' }),
      b.lookup('customerid', [['account', 'customerid_account'], ['contact', 'customerid_contact']], { kind: 'Customer', display: 'Potential Customer', required: 'ApplicationRequired' }),
      b.lookup('parentaccountid', [['account', 'parentaccountid']], { display: 'Account' }),
      b.lookup('parentcontactid', [['contact', 'parentcontactid']], { display: 'Contact' }),
      b.lookup('originatingleadid', [['lead', 'originatingleadid']], { display: 'Originating Lead' }),
      ...currency(b),
      b.state([
        [0, 'Open', 1],
        [1, 'Won', 3],
        [2, 'Lost', 4],
      ]),
      b.status([
        [1, 'In Progress', 0],
        [2, 'On Hold', 0],
        [3, 'Won', 1],
        [4, 'Canceled', 2],
        [5, 'Out-Sold', 2],
      ]),
      b.picklist('salesstage', [[0, 'Qualify'], [1, 'Develop'], [2, 'Propose'], [3, 'Close']], { display: 'Sales Stage' }),
      b.string('stepname', 200, { display: 'Pipeline Phase' }),
      b.picklist('opportunityratingcode', [[1, 'Hot'], [2, 'Warm'], [3, 'Cold']], { display: 'Rating', defaultValue: 2 }),
      b.picklist('purchasetimeframe', [[0, 'Immediate'], [1, 'This Quarter'], [2, 'Next Quarter'], [3, 'This Year'], [4, 'Unknown']], { display: 'Purchase Timeframe' }),
      b.picklist('purchaseprocess', [[0, 'Individual'], [1, 'Committee'], [2, 'Unknown']], { display: 'Purchase Process' }),
      b.picklist('budgetstatus', [[0, 'No Committed Budget'], [1, 'May Buy'], [2, 'Can Buy'], [3, 'Will Buy']], { display: 'Budget' }),
      b.picklist('need', [[0, 'Must have'], [1, 'Should have'], [2, 'Good to have'], [3, 'No need']], { display: 'Need' }),
      b.picklist('timeline', [[0, 'Immediate'], [1, 'This Quarter'], [2, 'Next Quarter'], [3, 'This Year'], [4, 'Not known']], { display: 'Timeline' }),
      b.picklist('prioritycode', [[1, 'Default Value']], { display: 'Priority', defaultValue: 1 }),
      b.memo('customerneed', 2000, { display: 'Customer Need' }),
      b.memo('customerpainpoints', 2000, { display: 'Customer Pain Points' }),
      b.memo('currentsituation', 2000, { display: 'Current Situation' }),
      b.memo('proposedsolution', 2000, { display: 'Proposed Solution' }),
      ...systemColumns(b, true),
    ],
  );

export const LEAD = (): EntityDefinition =>
  define(
    {
      logicalName: 'lead',
      entitySetName: 'leads',
      displayName: 'Lead',
      displayCollectionName: 'Leads',
      objectTypeCode: 4,
      primaryIdAttribute: 'leadid',
      primaryNameAttribute: 'fullname',
      ownershipType: 'UserOwned',
      changeTrackingEnabled: true,
    },
    (b) => [
      b.primaryId('leadid', 'Lead'),
      b.string('subject', 300, { display: 'Topic', required: 'ApplicationRequired' }),
      b.string('firstname', 50, { display: 'First Name' }),
      b.string('lastname', 50, { display: 'Last Name', required: 'ApplicationRequired' }),
      b.string('fullname', 160, { primaryName: true, readOnly: true, display: 'Name' }),
      b.string('companyname', 100, { display: 'Company Name' }),
      b.string('jobtitle', 100, { display: 'Job Title' }),
      b.string('emailaddress1', 100, { display: 'Email', format: 'Email' }),
      b.string('telephone1', 50, { display: 'Business Phone', format: 'Phone' }),
      b.string('websiteurl', 200, { display: 'Website', format: 'Url' }),
      ...address1(b),
      b.memo('description', 2000, { display: 'Description' }),
      b.money('estimatedamount', { display: 'Est. Value' }),
      b.dateOnly('estimatedclosedate', { display: 'Est. Close Date' }),
      b.picklist('leadsourcecode', [[1, 'Advertisement'], [2, 'Employee Referral'], [3, 'External Referral'], [4, 'Partner'], [5, 'Public Relations'], [6, 'Seminar'], [7, 'Trade Show'], [8, 'Web'], [9, 'Word of Mouth'], [10, 'Other']], { display: 'Lead Source' }),
      b.picklist('leadqualitycode', [[1, 'Hot'], [2, 'Warm'], [3, 'Cold']], { display: 'Rating', defaultValue: 2 }),
      b.lookup('parentaccountid', [['account', 'parentaccountid']], { display: 'Existing Account' }),
      b.lookup('parentcontactid', [['contact', 'parentcontactid']], { display: 'Existing Contact' }),
      b.lookup('customerid', [['account', 'customerid_account'], ['contact', 'customerid_contact']], { kind: 'Customer', display: 'Customer' }),
      ...currency(b),
      b.state([
        [0, 'Open', 1],
        [1, 'Qualified', 3],
        [2, 'Disqualified', 4],
      ]),
      b.status([
        [1, 'New', 0],
        [2, 'Contacted', 0],
        [3, 'Qualified', 1],
        [4, 'Lost', 2],
        [5, 'Cannot Contact', 2],
        [6, 'No Longer Interested', 2],
        [7, 'Canceled', 2],
      ]),
      ...systemColumns(b, true),
    ],
  );

export const ACCOUNT = (): EntityDefinition =>
  define(
    {
      logicalName: 'account',
      entitySetName: 'accounts',
      displayName: 'Account',
      displayCollectionName: 'Accounts',
      objectTypeCode: 1,
      primaryIdAttribute: 'accountid',
      primaryNameAttribute: 'name',
      ownershipType: 'UserOwned',
      changeTrackingEnabled: true,
    },
    (b) => [
      b.primaryId('accountid', 'Account'),
      b.string('name', 160, { primaryName: true, display: 'Account Name', required: 'ApplicationRequired' }),
      b.string('accountnumber', 20, { display: 'Account Number' }),
      b.string('websiteurl', 200, { display: 'Website', format: 'Url' }),
      b.string('telephone1', 50, { display: 'Main Phone', format: 'Phone' }),
      b.string('emailaddress1', 100, { display: 'Email', format: 'Email' }),
      ...address1(b),
      b.picklist('industrycode', [[1, 'Accounting'], [2, 'Agriculture and Non-petrol Natural Resource Extraction'], [3, 'Broadcasting Printing and Publishing'], [4, 'Brokers'], [5, 'Building Supply Retail'], [6, 'Business Services'], [7, 'Consulting'], [8, 'Consumer Services'], [9, 'Design, Direction and Creative Management'], [10, 'Distributors, Dispatchers and Processors'], [11, "Doctor's Offices and Clinics"], [12, 'Durable Manufacturing'], [13, 'Eating and Drinking Places'], [14, 'Entertainment Retail'], [15, 'Equipment Rental and Leasing'], [16, 'Financial'], [33, 'Wholesale']], { display: 'Industry' }),
      b.money('revenue', { display: 'Annual Revenue' }),
      b.integer('numberofemployees', 0, 1_000_000_000, { display: 'Number of Employees' }),
      b.memo('description', 2000, { display: 'Description' }),
      b.lookup('primarycontactid', [['contact', 'primarycontactid']], { display: 'Primary Contact' }),
      b.lookup('parentaccountid', [['account', 'parentaccountid']], { display: 'Parent Account' }),
      ...currency(b),
      ...activeInactiveState(b),
      ...systemColumns(b, true),
    ],
  );

export const CONTACT = (): EntityDefinition =>
  define(
    {
      logicalName: 'contact',
      entitySetName: 'contacts',
      displayName: 'Contact',
      displayCollectionName: 'Contacts',
      objectTypeCode: 2,
      primaryIdAttribute: 'contactid',
      primaryNameAttribute: 'fullname',
      ownershipType: 'UserOwned',
      changeTrackingEnabled: true,
    },
    (b) => [
      b.primaryId('contactid', 'Contact'),
      b.string('firstname', 50, { display: 'First Name' }),
      b.string('lastname', 50, { display: 'Last Name', required: 'ApplicationRequired' }),
      b.string('fullname', 160, { primaryName: true, readOnly: true, display: 'Full Name' }),
      b.string('emailaddress1', 100, { display: 'Email', format: 'Email' }),
      b.string('telephone1', 50, { display: 'Business Phone', format: 'Phone' }),
      b.string('mobilephone', 50, { display: 'Mobile Phone', format: 'Phone' }),
      b.string('jobtitle', 100, { display: 'Job Title' }),
      ...address1(b),
      b.memo('description', 2000, { display: 'Description' }),
      b.lookup('parentcustomerid', [['account', 'parentcustomerid_account'], ['contact', 'parentcustomerid_contact']], { kind: 'Customer', display: 'Company Name' }),
      ...currency(b),
      ...activeInactiveState(b),
      ...systemColumns(b, true),
    ],
  );

export const TRANSACTION_CURRENCY = (): EntityDefinition =>
  define(
    {
      logicalName: 'transactioncurrency',
      entitySetName: 'transactioncurrencies',
      displayName: 'Currency',
      displayCollectionName: 'Currencies',
      objectTypeCode: 9105,
      primaryIdAttribute: 'transactioncurrencyid',
      primaryNameAttribute: 'currencyname',
      ownershipType: 'OrganizationOwned',
    },
    (b) => [
      b.primaryId('transactioncurrencyid', 'Currency'),
      b.string('currencyname', 100, { primaryName: true, display: 'Currency Name', required: 'SystemRequired' }),
      b.string('isocurrencycode', 5, { display: 'Currency Code', required: 'SystemRequired' }),
      b.string('currencysymbol', 10, { display: 'Currency Symbol', required: 'SystemRequired' }),
      b.integer('currencyprecision', 0, 4, { display: 'Currency Precision' }),
      b.decimal('exchangerate', 10, { display: 'Exchange Rate' }),
      ...activeInactiveState(b),
      ...systemColumns(b, false),
    ],
  );

export const SYSTEM_USER = (): EntityDefinition =>
  define(
    {
      logicalName: 'systemuser',
      entitySetName: 'systemusers',
      displayName: 'User',
      displayCollectionName: 'Users',
      objectTypeCode: 8,
      primaryIdAttribute: 'systemuserid',
      primaryNameAttribute: 'fullname',
      ownershipType: 'None',
      readOnly: true,
    },
    (b) => [
      b.primaryId('systemuserid', 'User'),
      b.string('fullname', 200, { primaryName: true, readOnly: true, display: 'Full Name' }),
      b.string('firstname', 64, { display: 'First Name' }),
      b.string('lastname', 64, { display: 'Last Name' }),
      b.string('domainname', 1024, { display: 'User Name' }),
      b.string('internalemailaddress', 100, { display: 'Primary Email', format: 'Email' }),
      b.guid('applicationid', { display: 'Application ID' }),
      b.guid('azureactivedirectoryobjectid', { display: 'Azure AD Object ID' }),
      b.boolean('isdisabled', ['Enabled', 'Disabled'], { display: 'Status' }),
      b.picklist('accessmode', [[0, 'Read-Write'], [1, 'Administrative'], [2, 'Read'], [3, 'Support User'], [4, 'Non-interactive'], [5, 'Delegated Admin']], { display: 'Access Mode' }),
      b.dateTime('createdon', { readOnly: true, display: 'Created On' }),
      b.dateTime('modifiedon', { readOnly: true, display: 'Modified On' }),
      b.bigint('versionnumber', { readOnly: true, display: 'Version Number' }),
    ],
  );

export const OPPORTUNITY_CLOSE = (): EntityDefinition =>
  define(
    {
      logicalName: 'opportunityclose',
      entitySetName: 'opportunitycloses',
      displayName: 'Opportunity Close',
      displayCollectionName: 'Opportunity Close Activities',
      objectTypeCode: 4208,
      primaryIdAttribute: 'activityid',
      primaryNameAttribute: 'subject',
      ownershipType: 'UserOwned',
      isActivity: true,
    },
    (b) => [
      b.primaryId('activityid', 'Opportunity Close'),
      b.string('subject', 200, { primaryName: true, display: 'Subject' }),
      b.lookup('opportunityid', [['opportunity', 'opportunityid']], { display: 'Opportunity' }),
      b.money('actualrevenue', { display: 'Actual Revenue' }),
      b.dateOnly('actualend', { display: 'Close Date' }),
      b.memo('description', 2000, { display: 'Description' }),
      ...currency(b),
      b.state([
        [0, 'Open', 1],
        [1, 'Completed', 2],
        [2, 'Canceled', 3],
      ]),
      b.status([
        [1, 'Open', 0],
        [2, 'Completed', 1],
        [3, 'Canceled', 2],
      ]),
      ...systemColumns(b, true),
    ],
  );

export const SERVICE_ENDPOINT = (): EntityDefinition =>
  define(
    {
      logicalName: 'serviceendpoint',
      entitySetName: 'serviceendpoints',
      displayName: 'Service Endpoint',
      displayCollectionName: 'Service Endpoints',
      objectTypeCode: 4618,
      primaryIdAttribute: 'serviceendpointid',
      primaryNameAttribute: 'name',
      ownershipType: 'OrganizationOwned',
    },
    (b) => [
      b.primaryId('serviceendpointid', 'ServiceEndpoint'),
      b.string('name', 256, { primaryName: true, display: 'Name', required: 'SystemRequired' }),
      b.memo('description', 2000, { display: 'Description' }),
      b.string('url', 2000, { display: 'Url', format: 'Url' }),
      b.string('namespaceaddress', 255, { display: 'Namespace Address' }),
      b.string('path', 160, { display: 'Path' }),
      b.picklist('contract', [[1, 'OneWay'], [2, 'Queue'], [3, 'Rest'], [4, 'TwoWay'], [5, 'Topic'], [6, 'Queue_Persistent'], [7, 'EventHub'], [8, 'Webhook'], [9, 'EventGrid'], [10, 'ManagedDataLake'], [11, 'ContainerStorage']], { display: 'Contract', required: 'SystemRequired' }),
      b.picklist('authtype', [[1, 'ACS'], [2, 'SASKey'], [3, 'SASToken'], [4, 'WebhookKey'], [5, 'HttpHeader'], [6, 'HttpQueryString'], [7, 'ConnectionString'], [8, 'AccessKey'], [9, 'ManagedIdentity']], { display: 'Specifies mode of authentication with SB' }),
      // Write-only in the real service ("Use webhooks to create external handlers for server events"): a GET never
      // returns the secret.
      b.string('authvalue', 2048, { display: 'Authorization Value', writeOnly: true }),
      b.picklist('messageformat', [[1, 'BinaryXML'], [2, 'Json'], [3, 'TextXML']], { display: 'Message Format', defaultValue: 2 }),
      b.picklist('connectionmode', [[1, 'Normal'], [2, 'Federated']], { display: 'Connection Mode', defaultValue: 1 }),
      b.picklist('userclaim', [[1, 'None'], [2, 'UserId'], [3, 'UserInfo']], { display: 'User Information Sent to Service Bus', defaultValue: 1 }),
      ...systemColumns(b, false),
    ],
  );

export const SDK_MESSAGE = (): EntityDefinition =>
  define(
    {
      logicalName: 'sdkmessage',
      entitySetName: 'sdkmessages',
      displayName: 'Sdk Message',
      displayCollectionName: 'Sdk Messages',
      objectTypeCode: 4606,
      primaryIdAttribute: 'sdkmessageid',
      primaryNameAttribute: 'name',
      ownershipType: 'OrganizationOwned',
      readOnly: true,
    },
    (b) => [
      b.primaryId('sdkmessageid', 'Sdk Message'),
      b.string('name', 256, { primaryName: true, display: 'Name' }),
      b.string('categoryname', 25, { display: 'Category Name' }),
      b.boolean('isprivate', ['No', 'Yes'], { display: 'Is Private' }),
      b.boolean('isactive', ['No', 'Yes'], { display: 'Is Active', defaultValue: true }),
      b.dateTime('createdon', { readOnly: true, display: 'Created On' }),
      b.dateTime('modifiedon', { readOnly: true, display: 'Modified On' }),
      b.bigint('versionnumber', { readOnly: true, display: 'Version Number' }),
    ],
  );

export const SDK_MESSAGE_FILTER = (): EntityDefinition =>
  define(
    {
      logicalName: 'sdkmessagefilter',
      entitySetName: 'sdkmessagefilters',
      displayName: 'Sdk Message Filter',
      displayCollectionName: 'Sdk Message Filters',
      objectTypeCode: 4607,
      primaryIdAttribute: 'sdkmessagefilterid',
      primaryNameAttribute: 'name',
      ownershipType: 'OrganizationOwned',
      readOnly: true,
    },
    (b) => [
      b.primaryId('sdkmessagefilterid', 'Sdk Message Filter'),
      b.string('name', 256, { primaryName: true, display: 'Name' }),
      b.entityName('primaryobjecttypecode', { display: 'Primary Object Type Code' }),
      b.entityName('secondaryobjecttypecode', { display: 'Secondary Object Type Code' }),
      b.lookup('sdkmessageid', [['sdkmessage', 'sdkmessageid']], { display: 'SDK Message ID' }),
      b.boolean('iscustomprocessingstepallowed', ['No', 'Yes'], { display: 'Custom Processing Step Allowed', defaultValue: true }),
      b.boolean('isvisible', ['No', 'Yes'], { display: 'Is Visible', defaultValue: true }),
      b.dateTime('createdon', { readOnly: true, display: 'Created On' }),
      b.dateTime('modifiedon', { readOnly: true, display: 'Modified On' }),
      b.bigint('versionnumber', { readOnly: true, display: 'Version Number' }),
    ],
  );

export const SDK_MESSAGE_PROCESSING_STEP = (): EntityDefinition =>
  define(
    {
      logicalName: 'sdkmessageprocessingstep',
      entitySetName: 'sdkmessageprocessingsteps',
      displayName: 'Sdk Message Processing Step',
      displayCollectionName: 'Sdk Message Processing Steps',
      objectTypeCode: 4608,
      primaryIdAttribute: 'sdkmessageprocessingstepid',
      primaryNameAttribute: 'name',
      ownershipType: 'OrganizationOwned',
    },
    (b) => [
      b.primaryId('sdkmessageprocessingstepid', 'Sdk Message Processing Step'),
      b.string('name', 256, { primaryName: true, display: 'Name' }),
      b.memo('description', 256, { display: 'Description' }),
      b.picklist('mode', [[0, 'Synchronous'], [1, 'Asynchronous']], { display: 'Execution Mode', required: 'SystemRequired' }),
      b.picklist('stage', [[10, 'Pre-validation'], [20, 'Pre-operation'], [30, 'Main Operation'], [40, 'Post-operation'], [50, 'Post-operation (Deprecated)']], { display: 'Execution Stage', required: 'SystemRequired' }),
      b.integer('rank', -2_147_483_648, 2_147_483_647, { display: 'Execution Order', required: 'SystemRequired' }),
      b.picklist('supporteddeployment', [[0, 'Server Only'], [1, 'Microsoft Dynamics 365 Client for Outlook Only'], [2, 'Both']], { display: 'Deployment', defaultValue: 0 }),
      b.boolean('asyncautodelete', ['No', 'Yes'], { display: 'Asynchronous Automatic Delete' }),
      b.string('filteringattributes', 100_000, { display: 'Filtering Attributes' }),
      b.memo('configuration', 1_073_741_823, { display: 'Configuration' }),
      // Polymorphic in the real service (plugintype or serviceendpoint); only webhooks exist here.
      b.lookup('eventhandler', [['serviceendpoint', 'eventhandler_serviceendpoint']], { kind: 'Lookup', display: 'Event Handler', required: 'SystemRequired' }),
      b.lookup('sdkmessageid', [['sdkmessage', 'sdkmessageid']], { display: 'SDK Message', required: 'SystemRequired' }),
      b.lookup('sdkmessagefilterid', [['sdkmessagefilter', 'sdkmessagefilterid']], { display: 'Sdk Message Filter' }),
      b.lookup('impersonatinguserid', [['systemuser', 'impersonatinguserid']], { display: 'Impersonating User' }),
      ...b.onOffStates('Enabled', 'Disabled'),
      ...systemColumns(b, false),
    ],
  );

export const SDK_MESSAGE_PROCESSING_STEP_IMAGE = (): EntityDefinition =>
  define(
    {
      logicalName: 'sdkmessageprocessingstepimage',
      entitySetName: 'sdkmessageprocessingstepimages',
      displayName: 'Sdk Message Processing Step Image',
      displayCollectionName: 'Sdk Message Processing Step Images',
      objectTypeCode: 4615,
      primaryIdAttribute: 'sdkmessageprocessingstepimageid',
      primaryNameAttribute: 'name',
      ownershipType: 'OrganizationOwned',
    },
    (b) => [
      b.primaryId('sdkmessageprocessingstepimageid', 'Sdk Message Processing Step Image'),
      b.string('name', 256, { primaryName: true, display: 'Name' }),
      b.string('entityalias', 256, { display: 'Entity Alias', required: 'SystemRequired' }),
      b.picklist('imagetype', [[0, 'PreImage'], [1, 'PostImage'], [2, 'Both']], { display: 'Image Type', required: 'SystemRequired' }),
      b.string('messagepropertyname', 256, { display: 'Message Property Name' }),
      b.string('attributes', 100_000, { display: 'Attributes' }),
      b.memo('description', 256, { display: 'Description' }),
      b.lookup('sdkmessageprocessingstepid', [['sdkmessageprocessingstep', 'sdkmessageprocessingstepid']], { display: 'SDK Message Processing Step', required: 'SystemRequired' }),
      ...systemColumns(b, false),
    ],
  );

export const PUBLISHER = (): EntityDefinition =>
  define(
    {
      logicalName: 'publisher',
      entitySetName: 'publishers',
      displayName: 'Publisher',
      displayCollectionName: 'Publishers',
      objectTypeCode: 7101,
      primaryIdAttribute: 'publisherid',
      primaryNameAttribute: 'friendlyname',
      ownershipType: 'OrganizationOwned',
    },
    (b) => [
      b.primaryId('publisherid', 'Publisher'),
      b.string('uniquename', 256, { display: 'Name', required: 'SystemRequired' }),
      b.string('friendlyname', 256, { primaryName: true, display: 'Display Name' }),
      b.string('customizationprefix', 8, { display: 'Prefix' }),
      b.integer('customizationoptionvalueprefix', 10_000, 99_999, { display: 'Option Value Prefix' }),
      b.memo('description', 2000, { display: 'Description' }),
      ...systemColumns(b, false),
    ],
  );

export const SOLUTION = (): EntityDefinition =>
  define(
    {
      logicalName: 'solution',
      entitySetName: 'solutions',
      displayName: 'Solution',
      displayCollectionName: 'Solutions',
      objectTypeCode: 7100,
      primaryIdAttribute: 'solutionid',
      primaryNameAttribute: 'friendlyname',
      ownershipType: 'OrganizationOwned',
    },
    (b) => [
      b.primaryId('solutionid', 'Solution'),
      b.string('uniquename', 65, { display: 'Name', required: 'SystemRequired' }),
      b.string('friendlyname', 256, { primaryName: true, display: 'Display Name' }),
      b.string('version', 256, { display: 'Version' }),
      b.boolean('ismanaged', ['Unmanaged', 'Managed'], { display: 'Package Type' }),
      b.lookup('publisherid', [['publisher', 'publisherid']], { display: 'Publisher', required: 'SystemRequired' }),
      b.memo('description', 2000, { display: 'Description' }),
      ...systemColumns(b, false),
    ],
  );

export const ASYNC_OPERATION = (): EntityDefinition =>
  define(
    {
      logicalName: 'asyncoperation',
      entitySetName: 'asyncoperations',
      displayName: 'System Job',
      displayCollectionName: 'System Jobs',
      objectTypeCode: 4700,
      primaryIdAttribute: 'asyncoperationid',
      primaryNameAttribute: 'name',
      ownershipType: 'UserOwned',
      readOnly: true,
    },
    (b) => [
      b.primaryId('asyncoperationid', 'System Job'),
      b.string('name', 256, { primaryName: true, display: 'System Job Name' }),
      b.picklist('operationtype', [[1, 'System Event'], [10, 'Workflow'], [13, 'Bulk Delete']], { display: 'System Job Type' }),
      b.string('messagename', 160, { display: 'Message Name' }),
      b.string('primaryentitytype', 64, { display: 'Entity Name' }),
      b.memo('message', 1_073_741_823, { display: 'Message' }),
      b.memo('friendlymessage', 1_073_741_823, { display: 'Friendly message' }),
      b.integer('errorcode', -2_147_483_648, 2_147_483_647, { display: 'Error Code' }),
      b.guid('correlationid', { display: 'Correlation Id' }),
      b.lookup('owningextensionid', [['sdkmessageprocessingstep', 'owningextensionid_sdkmessageprocessingstep']], { display: 'Owning Extension' }),
      b.lookup('regardingobjectid', [['opportunity', 'regardingobjectid_opportunity'], ['lead', 'regardingobjectid_lead'], ['account', 'regardingobjectid_account'], ['contact', 'regardingobjectid_contact']], { kind: 'Lookup', display: 'Regarding' }),
      b.dateTime('startedon', { display: 'Started On' }),
      b.dateTime('completedon', { display: 'Completed On' }),
      b.state([
        [0, 'Ready', 0],
        [1, 'Suspended', 10],
        [2, 'Locked', 20],
        [3, 'Completed', 30],
      ]),
      b.status([
        [0, 'Waiting For Resources', 0],
        [10, 'Waiting', 1],
        [20, 'In Progress', 2],
        [21, 'Pausing', 2],
        [22, 'Canceling', 2],
        [30, 'Succeeded', 3],
        [31, 'Failed', 3],
        [32, 'Canceled', 3],
      ]),
      ...systemColumns(b, true),
    ],
  );

/**
 * Connection role categories (Dataverse connectionrole table reference, `category` choice). Dynamics 365 Sales shows an
 * opportunity's "Stakeholders" as its connections to contacts in roles of the Stakeholder category (Dynamics 365 Sales
 * MCP tools "get_stakeholder" / "update_stakeholder": connections from the opportunity to the contact, with a
 * connectionrole).
 */
export const CONNECTION_ROLE_CATEGORIES: Array<[number, string]> = [[1, 'Business'], [2, 'Family'], [3, 'Social'], [4, 'Sales'], [5, 'Other'], [1000, 'Stakeholder'], [1001, 'Sales Team'], [1002, 'Service']];

export const CONNECTION_ROLE = (): EntityDefinition =>
  define(
    {
      logicalName: 'connectionrole',
      entitySetName: 'connectionroles',
      displayName: 'Connection Role',
      displayCollectionName: 'Connection Roles',
      objectTypeCode: 3231,
      primaryIdAttribute: 'connectionroleid',
      primaryNameAttribute: 'name',
      ownershipType: 'OrganizationOwned',
    },
    (b) => [
      b.primaryId('connectionroleid', 'Connection Role'),
      b.string('name', 100, { primaryName: true, display: 'Name', required: 'SystemRequired' }),
      b.picklist('category', CONNECTION_ROLE_CATEGORIES, { display: 'Connection Role Category' }),
      b.memo('description', 4000, { display: 'Description' }),
      ...activeInactiveState(b),
      ...systemColumns(b, false),
    ],
  );

/** Tables a connection may join in the sandbox, with their type codes (Dataverse connection table reference). */
export const CONNECTABLE_TABLES: Array<[table: string, objectTypeCode: number]> = [['account', 1], ['contact', 2], ['opportunity', 3], ['lead', 4], ['systemuser', 8]];

/**
 * Dataverse connection table reference / "Connection entities" (Developer Guide for Dynamics 365 Customer Engagement):
 * record1id is the source, record2id the target, each with a role; the platform keeps a reciprocal row (ismaster false)
 * with the sides swapped, linked through relatedconnectionid.
 */
export const CONNECTION = (): EntityDefinition =>
  define(
    {
      logicalName: 'connection',
      entitySetName: 'connections',
      displayName: 'Connection',
      displayCollectionName: 'Connections',
      objectTypeCode: 3234,
      primaryIdAttribute: 'connectionid',
      primaryNameAttribute: 'name',
      ownershipType: 'UserOwned',
      changeTrackingEnabled: true,
    },
    (b) => [
      b.primaryId('connectionid', 'Connection'),
      b.string('name', 500, { primaryName: true, readOnly: true, display: 'Connection Name' }),
      b.lookup('record1id', CONNECTABLE_TABLES.map(([table]) => [table, `record1id_${table}`]), { kind: 'Lookup', display: 'Connected From', required: 'ApplicationRequired' }),
      b.lookup('record2id', CONNECTABLE_TABLES.map(([table]) => [table, `record2id_${table}`]), { kind: 'Lookup', display: 'Connected To', required: 'ApplicationRequired' }),
      b.picklist('record1objecttypecode', CONNECTABLE_TABLES.map(([table, code]) => [code, table]), { readOnly: true, display: 'Type (From)' }),
      b.picklist('record2objecttypecode', CONNECTABLE_TABLES.map(([table, code]) => [code, table]), { readOnly: true, display: 'Type (To)' }),
      b.lookup('record1roleid', [['connectionrole', 'record1roleid']], { display: 'Role (From)' }),
      b.lookup('record2roleid', [['connectionrole', 'record2roleid']], { display: 'Role (To)' }),
      b.boolean('ismaster', ['No', 'Yes'], { readOnly: true, display: 'Is Master' }),
      b.lookup('relatedconnectionid', [['connection', 'relatedconnectionid']], { readOnly: true, display: 'Related Connection' }),
      b.memo('description', 4000, { display: 'Description' }),
      b.dateTime('effectivestart', { display: 'Starting' }),
      b.dateTime('effectiveend', { display: 'Ending' }),
      ...activeInactiveState(b),
      ...systemColumns(b, true),
    ],
  );

/**
 * Access team templates ("About collaborating with team templates"; Dataverse teamtemplate table reference): the table
 * (objecttypecode) and the access rights the members get.
 */
export const TEAM_TEMPLATE = (): EntityDefinition =>
  define(
    {
      logicalName: 'teamtemplate',
      entitySetName: 'teamtemplates',
      displayName: 'Team template',
      displayCollectionName: 'Team templates',
      objectTypeCode: 92,
      primaryIdAttribute: 'teamtemplateid',
      primaryNameAttribute: 'teamtemplatename',
      ownershipType: 'OrganizationOwned',
    },
    (b) => [
      b.primaryId('teamtemplateid', 'Team template'),
      b.string('teamtemplatename', 100, { primaryName: true, display: 'Team Template Name', required: 'SystemRequired' }),
      b.integer('objecttypecode', 0, 2_147_483_647, { display: 'Entity', required: 'SystemRequired' }),
      b.integer('defaultaccessrightsmask', 0, 2_147_483_647, { display: 'Access', required: 'SystemRequired' }),
      b.memo('description', 2000, { display: 'Description' }),
      ...systemColumns(b, false),
    ],
  );

/**
 * Teams (Dataverse team table reference): owner teams and the access teams the platform creates per record and template
 * (teamtype 1, regardingobjectid = the record, teamtemplateid = the template). Read-only through the Web API here:
 * access teams come and go through AddUserToRecordTeam / RemoveUserFromRecordTeam.
 */
export const TEAM = (): EntityDefinition =>
  define(
    {
      logicalName: 'team',
      entitySetName: 'teams',
      displayName: 'Team',
      displayCollectionName: 'Teams',
      objectTypeCode: 9,
      primaryIdAttribute: 'teamid',
      primaryNameAttribute: 'name',
      ownershipType: 'None',
      readOnly: true,
    },
    (b) => [
      b.primaryId('teamid', 'Team'),
      b.string('name', 160, { primaryName: true, display: 'Team Name', required: 'SystemRequired' }),
      b.picklist('teamtype', [[0, 'Owner'], [1, 'Access'], [2, 'Security Group'], [3, 'Office Group']], { display: 'Team Type', defaultValue: 0 }),
      b.lookup('teamtemplateid', [['teamtemplate', 'teamtemplateid']], { display: 'Team Template Identifier' }),
      b.lookup('regardingobjectid', CONNECTABLE_TABLES.filter(([table]) => table !== 'systemuser').map(([table]) => [table, `regardingobjectid_${table}`]), { kind: 'Lookup', display: 'Regarding Object Id' }),
      b.boolean('systemmanaged', ['No', 'Yes'], { readOnly: true, display: 'Is System Managed' }),
      b.memo('description', 2000, { display: 'Description' }),
      ...systemColumns(b, false),
    ],
  );

/** Fresh definitions of every built-in table (fresh objects, because custom columns and keys mutate them). */
export function standardEntities(): EntityDefinition[] {
  return [
    OPPORTUNITY(),
    LEAD(),
    ACCOUNT(),
    CONTACT(),
    TRANSACTION_CURRENCY(),
    SYSTEM_USER(),
    OPPORTUNITY_CLOSE(),
    CONNECTION_ROLE(),
    CONNECTION(),
    TEAM_TEMPLATE(),
    TEAM(),
    SERVICE_ENDPOINT(),
    SDK_MESSAGE(),
    SDK_MESSAGE_FILTER(),
    SDK_MESSAGE_PROCESSING_STEP(),
    SDK_MESSAGE_PROCESSING_STEP_IMAGE(),
    PUBLISHER(),
    SOLUTION(),
    ASYNC_OPERATION(),
  ];
}
