/** Deterministic, realistic-looking rows for `POST /_sandbox/seed`; the sequence makes every row distinct. */

const COMPANIES = ['Contoso', 'Fabrikam', 'Northwind Traders', 'Adventure Works', 'Tailspin Toys', 'Wide World Importers', 'Litware', 'Proseware', 'Alpine Ski House', 'Coho Winery'];
const CITIES: Array<[string, string, string]> = [
  ['Seattle', '98052', 'US'],
  ['London', 'SW1A 1AA', 'GB'],
  ['Munich', '80331', 'DE'],
  ['Toronto', 'M5H 2N2', 'CA'],
  ['Sydney', '2000', 'AU'],
  ['Paris', '75001', 'FR'],
];
const FIRST_NAMES = ['Avery', 'Jordan', 'Riley', 'Morgan', 'Casey', 'Taylor', 'Quinn', 'Reese'];
const LAST_NAMES = ['Nguyen', 'Garcia', 'Smith', 'Müller', 'Kowalski', 'Okafor', 'Tanaka', 'Silva'];
const STAGES = ['Prospecting', 'Qualification', 'Needs Analysis', 'Value Proposition', 'Proposal/Price Quote', 'Negotiation/Review'];

const pick = <T>(list: readonly T[], index: number): T => list[index % list.length] as T;

function closeDate(sequence: number): string {
  const date = new Date(Date.now() + (30 + (sequence % 90)) * 24 * 60 * 60 * 1000);
  return date.toISOString().slice(0, 10);
}

export function sampleAccount(sequence: number): Record<string, unknown> {
  const [city, postalCode, country] = pick(CITIES, sequence);
  return {
    Name: `${pick(COMPANIES, sequence)} ${sequence + 1}`,
    BillingStreet: `${100 + sequence} Main Street`,
    BillingCity: city,
    BillingPostalCode: postalCode,
    BillingCountry: country,
    Industry: 'Technology',
  };
}

export function sampleContact(sequence: number, accountId: string | undefined): Record<string, unknown> {
  const first = pick(FIRST_NAMES, sequence);
  const last = pick(LAST_NAMES, sequence + 3);
  return { FirstName: first, LastName: last, Email: `${first}.${last}.${sequence}@example.com`.toLowerCase(), ...(accountId ? { AccountId: accountId } : {}) };
}

export function sampleOpportunity(sequence: number, accountId: string | undefined, contactId: string | undefined, accountName: string | undefined): Record<string, unknown> {
  return {
    Name: `${accountName ?? pick(COMPANIES, sequence)} - Cloud migration ${sequence + 1}`,
    StageName: pick(STAGES, sequence),
    CloseDate: closeDate(sequence),
    Amount: 10_000 + (sequence % 20) * 5_000,
    Description: 'Seeded by the Salesforce sandbox.',
    ...(accountId ? { AccountId: accountId } : {}),
    ...(contactId ? { ContactId: contactId } : {}),
  };
}

export function sampleLead(sequence: number): Record<string, unknown> {
  const [city, postalCode, country] = pick(CITIES, sequence + 1);
  const first = pick(FIRST_NAMES, sequence + 2);
  const last = pick(LAST_NAMES, sequence);
  return {
    FirstName: first,
    LastName: last,
    Company: `${pick(COMPANIES, sequence + 5)} Lead ${sequence + 1}`,
    Email: `${first}.${last}.lead${sequence}@example.com`.toLowerCase(),
    Status: 'Open - Not Contacted',
    City: city,
    PostalCode: postalCode,
    Country: country,
  };
}
