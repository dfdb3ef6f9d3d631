import type { JsonObject } from '../shared/deep-merge.ts';
import { ASSISTANCE_REQUEST_CODES } from './referral-enums.ts';
import { DEFAULT_SOLUTIONS } from './solutions-catalogue.ts';

interface SampleCustomer {
  name: string;
  addressLine1: string;
  city: string;
  state: string;
  postalCode: string;
  country: string;
  currency: string;
  contact: { firstName: string; lastName: string; phoneNumber: string; email: string };
}

const CUSTOMERS: SampleCustomer[] = [
  { name: 'Contoso Pharmaceuticals', addressLine1: '1 Contoso Way', city: 'Redmond', state: 'WA', postalCode: '98052', country: 'US', currency: 'USD', contact: { firstName: 'Sue', lastName: 'Smith', phoneNumber: '4255550100', email: 'sue.smith@contoso.com' } },
  { name: 'Fabrikam Manufacturing', addressLine1: 'Leopoldstraße 12', city: 'München', state: 'BY', postalCode: '80331', country: 'DE', currency: 'EUR', contact: { firstName: 'Jonas', lastName: 'Weber', phoneNumber: '+498955501', email: 'jonas.weber@fabrikam.de' } },
  { name: 'Northwind Traders', addressLine1: '400 Pine Street', city: 'Seattle', state: 'WA', postalCode: '98101', country: 'US', currency: 'USD', contact: { firstName: 'Nancy', lastName: 'Davolio', phoneNumber: '2065550101', email: 'nancy.davolio@northwind.com' } },
  { name: 'Tailspin Toys', addressLine1: '10 Downing Lane', city: 'London', state: 'London', postalCode: 'SW1A 2AA', country: 'GB', currency: 'GBP', contact: { firstName: 'Olivia', lastName: 'Jones', phoneNumber: '+442079460000', email: 'olivia.jones@tailspintoys.co.uk' } },
  { name: 'Adventure Works Cycles', addressLine1: '100 King Street West', city: 'Toronto', state: 'ON', postalCode: 'M5X 1A9', country: 'CA', currency: 'CAD', contact: { firstName: 'Liam', lastName: 'Tremblay', phoneNumber: '4165550102', email: 'liam.tremblay@adventure-works.ca' } },
  { name: 'Wide World Importers', addressLine1: '1 Macquarie Place', city: 'Sydney', state: 'NSW', postalCode: '2000', country: 'AU', currency: 'AUD', contact: { firstName: 'Charlotte', lastName: 'Nguyen', phoneNumber: '+61255501030', email: 'charlotte.nguyen@wideworldimporters.com.au' } },
  { name: 'Litware Inc.', addressLine1: '8 Rue de Rivoli', city: 'Paris', state: 'IDF', postalCode: '75001', country: 'FR', currency: 'EUR', contact: { firstName: 'Camille', lastName: 'Martin', phoneNumber: '+33155501040', email: 'camille.martin@litware.fr' } },
  { name: 'Woodgrove Bank', addressLine1: '350 Fifth Avenue', city: 'New York', state: 'NY', postalCode: '10118', country: 'US', currency: 'USD', contact: { firstName: 'Marcus', lastName: 'Lee', phoneNumber: '2125550103', email: 'marcus.lee@woodgrovebank.com' } },
];

/** A solution of the seeded catalogue as a referral names it (`type: Name`). */
function solutionTag(id: string): { id: string; name: string; type: 'Name' } {
  const solution = DEFAULT_SOLUTIONS.find((candidate) => candidate.id === id);
  if (!solution) throw new Error(`sample solution ${id} is not in the seeded catalogue`);
  return { id: solution.id, name: solution.name, type: 'Name' };
}

const WORKLOADS = [
  { title: 'Azure migration', product: 'Azure', solution: solutionTag('SOL-34104-EBB') },
  { title: 'Dynamics 365 supply chain', product: 'Dynamics365Enterprise', solution: solutionTag('SOL-20816-QWE') },
  { title: 'Modern workplace rollout', product: 'Microsoft365', solution: solutionTag('SOL-11873-MWP') },
  { title: 'Data platform modernization', product: 'SQL', solution: solutionTag('SOL-47715-DAT') },
  { title: 'Security assessment', product: 'EnterpriseMobilityAndSecurity', solution: solutionTag('SOL-58321-SEC') },
];

const INDUSTRIES = ['Manufacturing', 'Healthcare', 'Financial Services', 'Retail & Consumer Goods', 'Education'];

const DAY_MS = 24 * 60 * 60 * 1000;

function pick<T>(list: readonly T[], index: number): T {
  return list[index % list.length] as T;
}

/**
 * A realistic co-sell invitation as Microsoft shares it with the partner (Shared, Incoming, New/Pending,
 * SalesQualified, invited by `msft`). Deterministic in `sequence`, so seeded data looks the same on every run.
 */
export function incomingReferralDefaults(sequence: number, now = Date.now()): JsonObject {
  const customer = pick(CUSTOMERS, sequence);
  const workload = pick(WORKLOADS, Math.floor(sequence / CUSTOMERS.length) + sequence);
  const closing = new Date(now + (30 + (sequence * 17) % 150) * DAY_MS);
  closing.setUTCHours(0, 0, 0, 0);
  return {
    name: `${customer.name} - ${workload.title}`,
    status: 'New',
    substatus: 'Pending',
    qualification: 'SalesQualified',
    type: 'Shared',
    customerProfile: {
      name: customer.name,
      address: {
        addressLine1: customer.addressLine1,
        city: customer.city,
        state: customer.state,
        postalCode: customer.postalCode,
        country: customer.country,
      },
      size: pick(['51to250employees', '251to1000employees', '1001to5000employees', 'Morethan20000employees'], sequence),
      team: [{ ...customer.contact, contactPreference: { locale: 'en-us', disableNotifications: false } }],
      ids: [],
    },
    consent: { consentToToShareInfoWithOthers: true, consentToContact: true, consentToShareReferralWithMicrosoftSellers: true },
    details: {
      notes: `${customer.name} is evaluating a ${workload.title.toLowerCase()} and asked for a partner with proven delivery.`,
      dealValue: 25_000 + ((sequence * 7919) % 400) * 500,
      currency: customer.currency,
      closingDateTime: closing.toISOString().replace('.000Z', 'Z'),
      requirements: {
        industries: [{ id: pick(INDUSTRIES, sequence) }],
        products: [{ id: workload.product }],
        services: [{ id: 'DeploymentOrMigration' }],
        solutions: [workload.solution],
      },
    },
    team: [],
    inviteContext: {
      notes: `Hi, hoping you can help ${customer.name}. Thanks, Alex @ Microsoft`,
      invitedBy: { organizationId: 'msft', organizationName: 'Microsoft' },
      assistanceRequestCode: pick(ASSISTANCE_REQUEST_CODES.slice(1), sequence),
    },
    target: [{ type: 'SolutionProfile', id: workload.solution.id }],
  };
}

/** Microsoft's MSX opportunity ids look like `7-3ABCDEF12`. */
export function microsoftMsxId(sequence: number): string {
  return `7-${(0x3a0000000 + sequence * 7_654_321).toString(36).toUpperCase().slice(0, 9)}`;
}

/** Microsoft's own referral in a co-sell engagement: accepted on Microsoft's side, owned by `msft`. */
export function microsoftSideContent(partnerContent: JsonObject, partnerOrganizationId: string, msxId: string): JsonObject {
  return {
    ...partnerContent,
    status: 'Active',
    substatus: 'Accepted',
    team: [
      {
        firstName: 'Alex',
        lastName: 'Wilber',
        email: 'alex.wilber@microsoft.com',
        phoneNumber: '4255550199',
        contactPreference: { locale: 'en-us', disableNotifications: false },
      },
    ],
    target: [{ type: 'BusinessProfileLocation', id: partnerOrganizationId }],
    trackingInfo: { microsoftMsxId: msxId },
  };
}
