import { ALL_SANDBOX_USERS, type SandboxUser } from '../auth/users.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import { connectionRoleId, currencyId, DEFAULT_PUBLISHER_ID, OPPORTUNITY_TEAM_TEMPLATE_ID, DEFAULT_SOLUTION_ID, sdkMessageFilterId, sdkMessageId } from './catalog-ids.ts';
import { nowIso, type RecordValues } from './record.ts';
import type { RecordStore } from './record-store.ts';

/** Tables whose rows are part of the org itself and survive `DELETE /_sandbox/data`. */
export const CATALOG_TABLES = ['systemuser', 'transactioncurrency', 'sdkmessage', 'sdkmessagefilter', 'publisher', 'solution', 'connectionrole', 'teamtemplate'] as const;

const CURRENCIES: Array<[iso: string, name: string, symbol: string, rate: number]> = [
  ['USD', 'US Dollar', '$', 1],
  ['EUR', 'Euro', '€', 0.92],
  ['GBP', 'Pound Sterling', '£', 0.79],
  ['JPY', 'Yen', '¥', 151.2],
  ['CAD', 'Canadian Dollar', 'CA$', 1.36],
  ['AUD', 'Australian Dollar', 'A$', 1.52],
  ['INR', 'Indian Rupee', '₹', 83.1],
];

/**
 * Messages a webhook step can be registered on; Win/Lose names are UNCONFIRMED ("Use webhooks to create external
 * handlers for server events") but what the platform lists.
 */
const MESSAGES = ['Create', 'Update', 'Delete', 'Win', 'Lose', 'SetState', 'Assign', 'Retrieve', 'RetrieveMultiple', 'AddUserToRecordTeam', 'RemoveUserFromRecordTeam'];
/**
 * AddUserToRecordTeam / RemoveUserFromRecordTeam are SDK messages of systemuser (the Web API binds the actions to it);
 * that their filters allow webhook steps is UNCONFIRMED, listed here so an access-team change can notify.
 */
const MESSAGE_TABLES: Record<string, readonly string[]> = { Win: ['opportunity'], Lose: ['opportunity'], AddUserToRecordTeam: ['systemuser'], RemoveUserFromRecordTeam: ['systemuser'] };
// Connections are a table like any other for plug-in steps (Create/Update/Delete of connection).
const FILTERED_TABLES = ['opportunity', 'lead', 'account', 'contact', 'connection'];

/**
 * Connection roles of the Stakeholder category (1000) that Dynamics 365 Sales shows on an opportunity's Stakeholders
 * grid. The out-of-the-box names are UNCONFIRMED; these are the usual buying-group roles.
 */
export const STAKEHOLDER_ROLES = ['Stakeholder', 'Decision Maker', 'Economic Buyer', 'Technical Buyer', 'Influencer', 'Champion'];

/** Read (1) + Write (2): the access an opportunity's access team grants (AccessRights enumeration). */
const TEAM_TEMPLATE_ACCESS = 1 | 2;

function insert(store: RecordStore, entity: EntityDefinition, id: string, values: RecordValues): void {
  const now = nowIso();
  const stamped: RecordValues = { ...values };
  if (entity.attributes.has('createdon')) stamped.createdon = now;
  if (entity.attributes.has('modifiedon')) stamped.modifiedon = now;
  if (entity.attributes.has('statecode') && stamped.statecode === undefined) stamped.statecode = 0;
  if (entity.attributes.has('statuscode') && stamped.statuscode === undefined) stamped.statuscode = 1;
  stamped.versionnumber = store.nextVersion();
  store.insert(entity.logicalName, id, stamped);
}

/**
 * Seeds the rows every org has: users (the sandbox's own, or the configured list), currencies, SDK messages and
 * filters, the default publisher and solution.
 */
export function seedCatalog(registry: MetadataRegistry, store: RecordStore, orgUsers: readonly SandboxUser[] = ALL_SANDBOX_USERS): void {
  const users = registry.requireEntity('systemuser');
  for (const user of orgUsers) {
    insert(store, users, user.id, {
      fullname: user.fullname,
      firstname: user.firstname,
      lastname: user.lastname,
      domainname: user.domainname,
      internalemailaddress: user.domainname,
      applicationid: user.applicationid,
      azureactivedirectoryobjectid: user.azureactivedirectoryobjectid,
      isdisabled: false,
      accessmode: user.accessmode,
    });
  }
  const currencies = registry.requireEntity('transactioncurrency');
  for (const [iso, name, symbol, rate] of CURRENCIES) {
    insert(store, currencies, currencyId(iso), { currencyname: name, isocurrencycode: iso, currencysymbol: symbol, currencyprecision: iso === 'JPY' ? 0 : 2, exchangerate: rate });
  }
  const messages = registry.requireEntity('sdkmessage');
  const filters = registry.requireEntity('sdkmessagefilter');
  for (const message of MESSAGES) {
    insert(store, messages, sdkMessageId(message), { name: message, categoryname: message === 'Win' || message === 'Lose' ? 'Sales' : 'Data', isprivate: false, isactive: true });
    const tables = MESSAGE_TABLES[message] ?? FILTERED_TABLES;
    for (const table of tables) {
      insert(store, filters, sdkMessageFilterId(message, table), {
        name: `${message} of ${table}`,
        primaryobjecttypecode: table,
        secondaryobjecttypecode: 'none',
        sdkmessageid: { id: sdkMessageId(message), logicalName: 'sdkmessage' },
        iscustomprocessingstepallowed: true,
        isvisible: true,
      });
    }
  }
  const roles = registry.requireEntity('connectionrole');
  for (const name of STAKEHOLDER_ROLES) insert(store, roles, connectionRoleId(name), { name, category: 1000, description: null });
  insert(store, registry.requireEntity('teamtemplate'), OPPORTUNITY_TEAM_TEMPLATE_ID, {
    teamtemplatename: 'Opportunity Sales Team',
    objecttypecode: 3,
    defaultaccessrightsmask: TEAM_TEMPLATE_ACCESS,
    description: 'Access team template for opportunities (seeded by the sandbox).',
  });
  insert(store, registry.requireEntity('publisher'), DEFAULT_PUBLISHER_ID, {
    uniquename: 'DefaultPublishercosellsandbox',
    friendlyname: 'Default Publisher for cosellsandbox',
    customizationprefix: 'new',
    customizationoptionvalueprefix: 10000,
  });
  insert(store, registry.requireEntity('solution'), DEFAULT_SOLUTION_ID, {
    uniquename: 'Default',
    friendlyname: 'Default Solution',
    version: '1.0',
    ismanaged: false,
    publisherid: { id: DEFAULT_PUBLISHER_ID, logicalName: 'publisher' },
  });
}
