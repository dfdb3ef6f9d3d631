const COMPANIES = ['Contoso', 'Fabrikam', 'Northwind Traders', 'Adventure Works', 'Tailspin Toys', 'Wide World Importers', 'Litware', 'Proseware', 'Woodgrove Bank', 'Alpine Ski House', 'Coho Winery', 'Fourth Coffee'];
const CITIES: Array<[city: string, postalCode: string, country: string]> = [
  ['Redmond', '98052', 'US'],
  ['Seattle', '98101', 'US'],
  ['London', 'EC1A 1BB', 'GB'],
  ['Berlin', '10115', 'DE'],
  ['Paris', '75001', 'FR'],
  ['Sydney', '2000', 'AU'],
  ['Toronto', 'M5H 2N2', 'CA'],
  ['Tokyo', '100-0001', 'JP'],
];
const FIRST_NAMES = ['Ana', 'Ben', 'Chen', 'Dara', 'Eli', 'Fatima', 'Goran', 'Hana', 'Ivan', 'Jo'];
const LAST_NAMES = ['Bowen', 'Ito', 'Khan', 'Lopez', 'Meyer', 'Novak', 'Okafor', 'Park', 'Rossi', 'Silva'];
const WORKLOADS = ['Azure migration', 'Modern Work rollout', 'Security assessment', 'Data platform modernization', 'Dynamics 365 deployment', 'AI pilot'];

function at<T>(list: readonly T[], index: number): T {
  const item = list[index % list.length];
  if (item === undefined) throw new Error('sample list is empty');
  return item;
}

function suffix(sequence: number, listLength: number): string {
  const round = Math.floor(sequence / listLength);
  return round === 0 ? '' : ` ${round + 1}`;
}

/** Web API bodies for realistic sample rows; `sequence` makes every generated row different and reproducible. */
export function sampleAccount(sequence: number): Record<string, unknown> {
  const [city, postalCode, country] = at(CITIES, sequence);
  const name = `${at(COMPANIES, sequence)}${suffix(sequence, COMPANIES.length)}`;
  return {
    name,
    accountnumber: `ACC-${String(1000 + sequence)}`,
    websiteurl: `https://www.${name.toLowerCase().replace(/[^a-z0-9]+/g, '')}.example`,
    telephone1: `+1 425 555 ${String(1000 + (sequence % 9000)).padStart(4, '0')}`,
    address1_line1: `${100 + sequence} Main Street`,
    address1_city: city,
    address1_postalcode: postalCode,
    address1_country: country,
    numberofemployees: 50 + ((sequence * 137) % 5000),
  };
}

export function sampleContact(sequence: number, accountId: string | undefined): Record<string, unknown> {
  const firstname = at(FIRST_NAMES, sequence);
  const lastname = at(LAST_NAMES, Math.floor(sequence / FIRST_NAMES.length) + sequence);
  return {
    firstname,
    lastname,
    emailaddress1: `${firstname}.${lastname}${sequence}@example.com`.toLowerCase(),
    telephone1: `+1 206 555 ${String(2000 + (sequence % 8000)).padStart(4, '0')}`,
    jobtitle: sequence % 2 === 0 ? 'IT Director' : 'Procurement Manager',
    ...(accountId ? { 'parentcustomerid_account@odata.bind': `/accounts(${accountId})` } : {}),
  };
}

export function sampleOpportunity(sequence: number, accountId: string | undefined, contactId: string | undefined, accountName: string | undefined): Record<string, unknown> {
  const close = new Date(Date.UTC(2026, 11, 31) + (sequence % 90) * 86_400_000).toISOString().slice(0, 10);
  return {
    name: `${accountName ?? at(COMPANIES, sequence)} - ${at(WORKLOADS, sequence)}`,
    estimatedvalue: 25_000 + ((sequence * 7919) % 40) * 5_000,
    estimatedclosedate: close,
    closeprobability: 10 + ((sequence * 13) % 80),
    description: `Sample opportunity ${sequence + 1} seeded by the Dataverse sandbox.`,
    ...(accountId ? { 'customerid_account@odata.bind': `/accounts(${accountId})`, 'parentaccountid@odata.bind': `/accounts(${accountId})` } : {}),
    ...(contactId ? { 'parentcontactid@odata.bind': `/contacts(${contactId})` } : {}),
  };
}

export function sampleLead(sequence: number): Record<string, unknown> {
  const [city, postalCode, country] = at(CITIES, sequence + 3);
  return {
    subject: `Interested in ${at(WORKLOADS, sequence + 1)}`,
    firstname: at(FIRST_NAMES, sequence + 4),
    lastname: at(LAST_NAMES, sequence + 2),
    companyname: `${at(COMPANIES, sequence + 5)}${suffix(sequence, COMPANIES.length)}`,
    emailaddress1: `lead${sequence}@example.com`,
    address1_city: city,
    address1_postalcode: postalCode,
    address1_country: country,
    leadsourcecode: 4,
  };
}
