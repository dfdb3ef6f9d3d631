import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SalesforceError } from '../../../src/sandbox/salesforce/errors.ts';
import { SANDBOX_USERS } from '../../../src/sandbox/salesforce/index.ts';
import { parseSoql } from '../../../src/sandbox/salesforce/soql/parser.ts';
import { API_VERSION, expectJsforceError, opportunity, startHarness, type SalesforceHarness } from './helpers.ts';

const base = `/services/data/v${API_VERSION}`;

function parseError(query: string): SalesforceError {
  try {
    parseSoql(query);
  } catch (error) {
    if (error instanceof SalesforceError) return error;
    throw error;
  }
  throw new Error(`expected ${query} to be rejected`);
}

describe('SOQL parser', () => {
  it('parses every supported construct into one tree', () => {
    const query = parseSoql(
      "SELECT Id, Account.Name, COUNT() FROM Opportunity WHERE (Amount >= 10 AND Name LIKE 'A\\%_%') OR NOT StageName IN ('x','y') ORDER BY Amount DESC NULLS LAST, Name LIMIT 5 OFFSET 2",
    );
    expect(query.select.map((item) => item.kind)).toEqual(['field', 'field', 'count']);
    expect(query.where?.kind).toBe('or');
    expect(query.orderBy).toEqual([
      { path: { segments: ['Amount'], position: expect.any(Number) }, descending: true, nullsLast: true },
      { path: { segments: ['Name'], position: expect.any(Number) }, descending: false, nullsLast: false },
    ]);
    expect([query.limit, query.offset]).toEqual([5, 2]);
  });

  it('decodes string escapes and keeps LIKE wildcards distinct from escaped ones', () => {
    const query = parseSoql("SELECT Id FROM Lead WHERE Company = 'O\\'Brien \\\\ Sons\\n' AND Email LIKE '100\\%_%'");
    const where = query.where;
    if (where?.kind !== 'and') throw new Error('expected AND');
    const [equals, like] = where.operands;
    expect(equals?.kind === 'compare' && equals.value.kind === 'string' ? equals.value.value : undefined).toBe("O'Brien \\ Sons\n");
    expect(like?.kind === 'like' && like.pattern.kind === 'string' ? like.pattern.likeSource : undefined).toBe('100%..*');
  });

  it('rejects what real SOQL rejects or the sandbox does not support, saying where and why', () => {
    const mixed = parseError("SELECT Id FROM Account WHERE Name = 'a' AND Phone = 'b' OR Phone = 'c'");
    expect(mixed.errorCode).toBe('MALFORMED_QUERY');
    expect(mixed.message).toContain('ERROR at Row:1:Column:57');
    expect(mixed.message).toContain('unexpected token: OR (mixing AND and OR requires parentheses)');
    expect(parseError('SELECT Id FROM Account GROUP BY Name').message).toContain('GROUP is not supported');
    expect(parseError('SELECT Id, (SELECT Id FROM Contacts) FROM Account').message).toContain('subqueries are not supported');
    expect(parseError('SELECT SUM(Amount) FROM Opportunity').message).toContain('aggregate');
    expect(parseError("SELECT Id FROM Account WHERE Name = 'unterminated").errorCode).toBe('MALFORMED_QUERY');
    expect(parseError('SELECT Id FROM Account WHERE CreatedDate > 2026-01-01T00:00:00').message).toContain('time zone');
    expect(parseError('SELECT FROM Account').errorCode).toBe('MALFORMED_QUERY');
  });
});

describe('SOQL query endpoint', () => {
  let h: SalesforceHarness;
  let alphaId = '';
  const names: Record<string, string> = {};

  beforeAll(async () => {
    h = await startHarness({ queryBatchSize: 5 });
    alphaId = (await h.conn.sobject('Account').create({ Name: 'Alpha', BillingCountry: 'US' })).id ?? '';
    const rows = [
      opportunity({ Name: "O'Brien deal", Amount: 100, StageName: 'Prospecting', CloseDate: '2026-03-01', AccountId: alphaId }),
      opportunity({ Name: '100% margin', Amount: 200, StageName: 'Closed Won', CloseDate: '2026-06-15', AccountId: alphaId }),
      opportunity({ Name: 'Alpha expansion', Amount: 300, StageName: 'Closed Lost', CloseDate: '2026-09-30' }),
      opportunity({ Name: 'No amount', Amount: null, StageName: 'Qualification', CloseDate: '2027-01-01', Description: 'long text' }),
    ];
    for (const row of rows) names[String(row.Name)] = (await h.conn.sobject('Opportunity').create(row)).id ?? '';
  });
  afterAll(async () => h.close());

  const namesOf = async (where: string, order = 'ORDER BY Name'): Promise<string[]> => {
    const result = await h.conn.query<{ Name: string }>(`SELECT Name FROM Opportunity ${where} ${order}`);
    return result.records.map((record) => record.Name);
  };

  it('compares numbers with every operator, and != / <> include nulls', async () => {
    expect(await namesOf('WHERE Amount = 200')).toEqual(['100% margin']);
    expect(await namesOf('WHERE Amount != 200')).toEqual(["Alpha expansion", 'No amount', "O'Brien deal"]);
    expect(await namesOf('WHERE Amount <> 200')).toEqual(["Alpha expansion", 'No amount', "O'Brien deal"]);
    expect(await namesOf('WHERE Amount < 200')).toEqual(["O'Brien deal"]);
    expect(await namesOf('WHERE Amount <= 200')).toEqual(['100% margin', "O'Brien deal"]);
    expect(await namesOf('WHERE Amount > 200')).toEqual(['Alpha expansion']);
    expect(await namesOf('WHERE Amount >= 200.0')).toEqual(['100% margin', 'Alpha expansion']);
    expect(await namesOf('WHERE Amount = null')).toEqual(['No amount']);
  });

  it('matches strings case-insensitively, with escapes, LIKE wildcards, IN and NOT IN', async () => {
    expect(await namesOf("WHERE Name = 'o\\'brien DEAL'")).toEqual(["O'Brien deal"]);
    expect(await namesOf("WHERE Name LIKE 'alpha%'")).toEqual(['Alpha expansion']);
    expect(await namesOf("WHERE Name LIKE '_00\\% %'")).toEqual(['100% margin']);
    expect(await namesOf("WHERE Name LIKE '%\\%'")).toEqual([]);
    expect(await namesOf("WHERE StageName IN ('Closed Won', 'closed lost')")).toEqual(['100% margin', 'Alpha expansion']);
    expect(await namesOf("WHERE StageName NOT IN ('Closed Won', 'Closed Lost')")).toEqual(['No amount', "O'Brien deal"]);
    expect(await namesOf(`WHERE Id IN ('${names['No amount']?.slice(0, 15)}')`)).toEqual(['No amount']);
  });

  it('combines AND, OR and NOT with parentheses, booleans and null', async () => {
    expect(await namesOf('WHERE IsClosed = true AND (IsWon = false OR Amount < 250)')).toEqual(['100% margin', 'Alpha expansion']);
    expect(await namesOf('WHERE NOT (IsClosed = true OR Amount = null)')).toEqual(["O'Brien deal"]);
    expect(await namesOf('WHERE AccountId != null AND IsWon = false')).toEqual(["O'Brien deal"]);
  });

  it('filters dates and datetimes with literals, offsets and relative date literals', async () => {
    expect(await namesOf('WHERE CloseDate >= 2026-06-15 AND CloseDate < 2027-01-01')).toEqual(['100% margin', 'Alpha expansion']);
    expect(await namesOf('WHERE CreatedDate > 2020-01-01T00:00:00Z AND CloseDate = 2026-03-01')).toEqual(["O'Brien deal"]);
    expect((await namesOf('WHERE SystemModstamp >= 2020-01-01T01:00:00+01:00')).length).toBe(4);
    expect((await namesOf('WHERE CreatedDate = TODAY')).length).toBe(4);
    expect((await namesOf('WHERE CreatedDate = LAST_N_DAYS:1')).length).toBe(4);
    expect(await namesOf('WHERE CreatedDate < YESTERDAY')).toEqual([]);
    expect(await namesOf('WHERE CloseDate > NEXT_N_DAYS:3650')).toEqual([]);
  });

  it('orders by several keys with direction and null placement, then applies LIMIT and OFFSET', async () => {
    expect(await namesOf('', 'ORDER BY Amount DESC NULLS LAST')).toEqual(['Alpha expansion', '100% margin', "O'Brien deal", 'No amount']);
    expect(await namesOf('', 'ORDER BY Amount ASC')).toEqual(['No amount', "O'Brien deal", '100% margin', 'Alpha expansion']);
    expect(await namesOf('', 'ORDER BY IsClosed DESC, Name ASC')).toEqual(['100% margin', 'Alpha expansion', 'No amount', "O'Brien deal"]);
    expect(await namesOf('', 'ORDER BY Name LIMIT 2 OFFSET 1')).toEqual(['Alpha expansion', 'No amount']);
  });

  it('returns COUNT() as totalSize with no records', async () => {
    const result = await h.conn.query('SELECT COUNT() FROM Opportunity WHERE IsClosed = true');
    expect(result).toMatchObject({ totalSize: 2, done: true, records: [] });
  });

  it('nests parent relationship fields with attributes, and null for a missing parent', async () => {
    const result = await h.http<{ records: Array<Record<string, unknown>> }>(
      'GET',
      `${base}/query?q=${encodeURIComponent("SELECT Name, Account.Name, Account.BillingCountry, Owner.Name FROM Opportunity WHERE Name IN ('O\\'Brien deal', 'Alpha expansion') ORDER BY Name")}`,
    );
    expect(result.body.records).toEqual([
      {
        attributes: { type: 'Opportunity', url: `${base}/sobjects/Opportunity/${names['Alpha expansion']}` },
        Name: 'Alpha expansion',
        Account: null,
        Owner: { attributes: { type: 'User', url: `${base}/sobjects/User/${SANDBOX_USERS.integration.id}` }, Name: 'Cosell Integration' },
      },
      {
        attributes: { type: 'Opportunity', url: `${base}/sobjects/Opportunity/${names["O'Brien deal"]}` },
        Name: "O'Brien deal",
        Account: { attributes: { type: 'Account', url: `${base}/sobjects/Account/${alphaId}` }, Name: 'Alpha', BillingCountry: 'US' },
        Owner: { attributes: { type: 'User', url: `${base}/sobjects/User/${SANDBOX_USERS.integration.id}` }, Name: 'Cosell Integration' },
      },
    ]);
    expect(await namesOf("WHERE Account.Name = 'ALPHA'")).toEqual(['100% margin', "O'Brien deal"]);
  });

  it('pages through nextRecordsUrl with the configured batch size, over HTTP and with jsforce autoFetch', async () => {
    const rows = Array.from({ length: 8 }, (_, index) => ({ LastName: `Pager ${String(index).padStart(2, '0')}` }));
    await h.conn.sobject('Contact').create(rows);
    const first = await h.http<{ totalSize: number; done: boolean; records: unknown[]; nextRecordsUrl: string }>('GET', `${base}/query?q=${encodeURIComponent('SELECT LastName FROM Contact ORDER BY LastName')}`);
    expect(first.body).toMatchObject({ totalSize: 8, done: false });
    expect(first.body.records).toHaveLength(5);
    expect(first.body.nextRecordsUrl).toMatch(new RegExp(`^${base}/query/01g[A-Za-z0-9]{15}-5$`));
    const second = await h.http<{ done: boolean; records: Array<{ LastName: string }>; nextRecordsUrl?: string }>('GET', first.body.nextRecordsUrl);
    expect(second.body.done).toBe(true);
    expect(second.body.nextRecordsUrl).toBeUndefined();
    expect(second.body.records.map((row) => row.LastName)).toEqual(['Pager 05', 'Pager 06', 'Pager 07']);

    const all = await h.conn.query<{ LastName: string }>('SELECT LastName FROM Contact ORDER BY LastName').autoFetch(true).maxFetch(100).run();
    expect(all.records.map((row) => row.LastName)).toEqual(rows.map((row) => row.LastName));
    const stale = await h.http('GET', `${base}/query/01gAAAAAAAAAAAAAAA-5`);
    expect(stale.body).toEqual([{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }]);
  });

  it('includes deleted rows only in queryAll', async () => {
    const { id = '' } = await h.conn.sobject('Lead').create({ LastName: 'Deleted', Company: 'Gone Inc', Status: 'Open - Not Contacted' });
    await h.conn.sobject('Lead').destroy(id);
    expect((await h.conn.query("SELECT Id FROM Lead WHERE LastName = 'Deleted'")).totalSize).toBe(0);
    const all = await h.conn.query<{ Id: string; IsDeleted: boolean }>("SELECT Id, IsDeleted FROM Lead WHERE LastName = 'Deleted'", { scanAll: true });
    expect(all.records.map((row) => [row.Id, row.IsDeleted])).toEqual([[id, true]]);
  });

  it('works with the query builder jsforce generates from find()', async () => {
    const rows = await h.conn
      .sobject('Opportunity')
      .find({ Amount: { $gte: 100 }, Name: { $like: '%a%' } }, ['Id', 'Name', 'Amount'])
      .sort('-Amount')
      .limit(2);
    expect(rows.map((row) => row.Name)).toEqual(['Alpha expansion', '100% margin']);
  });

  it('answers unknown fields, objects and ill-typed filters with INVALID_FIELD, INVALID_TYPE and INVALID_QUERY_FILTER_OPERATOR', async () => {
    const field = await expectJsforceError(h.conn.query('SELECT Id, Referral__c FROM Opportunity'));
    expect(field.errorCode).toBe('INVALID_FIELD');
    expect(field.message).toContain("No such column 'Referral__c' on entity 'Opportunity'");
    expect(field.message).toContain('ERROR at Row:1:Column:12');
    const relationship = await expectJsforceError(h.conn.query('SELECT Partner.Name FROM Opportunity'));
    expect(relationship.message).toContain("Didn't understand relationship 'Partner'");
    expect((await expectJsforceError(h.conn.query('SELECT Id FROM Deal__c'))).errorCode).toBe('INVALID_TYPE');
    const typed = await expectJsforceError(h.conn.query("SELECT Id FROM Opportunity WHERE Amount = '100'"));
    expect(typed.errorCode).toBe('INVALID_QUERY_FILTER_OPERATOR');
    expect(typed.message).toContain("value of filter criterion for field 'Amount' must be of type double and should not be enclosed in quotes");
    const dateTime = await expectJsforceError(h.conn.query('SELECT Id FROM Opportunity WHERE CreatedDate > 2026-01-01'));
    expect(dateTime.errorCode).toBe('INVALID_QUERY_FILTER_OPERATOR');
    const longText = await expectJsforceError(h.conn.query("SELECT Id FROM Opportunity WHERE Description = 'x'"));
    expect(longText.message).toContain("field 'Description' can not be filtered");
    const malformed = await h.http('GET', `${base}/query?q=${encodeURIComponent('SELECT Id FROM Opportunity WHERE')}`);
    expect(malformed.status).toBe(400);
    expect((malformed.body as Array<{ errorCode: string }>)[0]?.errorCode).toBe('MALFORMED_QUERY');
  });
});
