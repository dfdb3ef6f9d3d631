import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFailure, startHarness, type SandboxHarness } from './helpers.ts';

interface Row {
  opportunityid: string;
  name: string;
  estimatedvalue: number;
  [key: string]: unknown;
}

let h: SandboxHarness;
let contosoId: string;
let fabrikamId: string;
let contactId: string;
const names = ['Alpha deal', 'Bravo deal', 'Charlie project', 'Delta deal', 'Echo expansion'];

beforeAll(async () => {
  h = await startHarness();
  contosoId = await h.api.create({ collection: 'accounts', data: { name: 'Contoso', address1_postalcode: '98052', address1_country: 'US' } });
  fabrikamId = await h.api.create({ collection: 'accounts', data: { name: 'Fabrikam', address1_postalcode: '10115', address1_country: 'DE' } });
  contactId = await h.api.create({ collection: 'contacts', data: { firstname: 'Ana', lastname: 'Bowen', 'parentcustomerid_account@odata.bind': `/accounts(${contosoId})` } });
  for (const [index, name] of names.entries()) {
    await h.api.create({
      collection: 'opportunities',
      data: {
        name,
        estimatedvalue: (index + 1) * 10_000,
        estimatedclosedate: `2026-0${index + 1}-15`,
        salesstage: index % 4,
        'customerid_account@odata.bind': `/accounts(${index % 2 === 0 ? contosoId : fabrikamId})`,
        'parentaccountid@odata.bind': `/accounts(${index % 2 === 0 ? contosoId : fabrikamId})`,
        ...(index === 0 ? { 'parentcontactid@odata.bind': `/contacts(${contactId})` } : {}),
      },
    });
  }
});
afterAll(async () => h.close());

describe('$filter, $select, $orderby, $top, $count', () => {
  it('filters with comparison, logical operators, functions and parentheses; selects only the asked columns', async () => {
    const result = await h.api.retrieveMultiple<Row>({
      collection: 'opportunities',
      select: ['name', 'estimatedvalue'],
      filter: "(contains(name,'DEAL') and estimatedvalue ge 20000) or startswith(name,'echo')",
      orderBy: ['estimatedvalue desc'],
      count: true,
    });
    expect(result.value.map((row) => row.name)).toEqual(['Echo expansion', 'Delta deal', 'Bravo deal']);
    expect(result.oDataCount).toBe(3);
    expect(Object.keys(result.value[0] ?? {}).sort()).toEqual(['@odata.etag', 'estimatedvalue', 'name', 'opportunityid', '_transactioncurrencyid_value'].sort());
  });

  it('filters on a lookup GUID, null, not, endswith, a date literal and a path through a lookup', async () => {
    const byLookup = await h.api.retrieveMultiple<Row>({ collection: 'opportunities', select: ['name'], filter: `_parentaccountid_value eq ${fabrikamId}` });
    expect(byLookup.value.map((row) => row.name).sort()).toEqual(['Bravo deal', 'Delta deal']);
    const noContact = await h.api.retrieveMultiple<Row>({ collection: 'opportunities', select: ['name'], filter: '_parentcontactid_value eq null' });
    expect(noContact.value).toHaveLength(4);
    const notDeal = await h.api.retrieveMultiple<Row>({ collection: 'opportunities', select: ['name'], filter: "not endswith(name,'deal')" });
    expect(notDeal.value.map((row) => row.name).sort()).toEqual(['Charlie project', 'Echo expansion']);
    const byDate = await h.api.retrieveMultiple<Row>({ collection: 'opportunities', select: ['name'], filter: 'estimatedclosedate lt 2026-03-01 and createdon gt 2020-01-01T00:00:00Z' });
    expect(byDate.value.map((row) => row.name).sort()).toEqual(['Alpha deal', 'Bravo deal']);
    const byPath = await h.api.retrieveMultiple<Row>({ collection: 'opportunities', select: ['name'], filter: "parentaccountid/address1_country eq 'DE'" });
    expect(byPath.value).toHaveLength(2);
    const inList = await h.api.retrieveMultiple<Row>({ collection: 'opportunities', select: ['name'], filter: "Microsoft.Dynamics.CRM.In(PropertyName='salesstage',PropertyValues=['0','3'])" });
    expect(inList.value.map((row) => row.name).sort()).toEqual(['Alpha deal', 'Delta deal', 'Echo expansion']);
  });

  it('applies $top and orders by several columns', async () => {
    const result = await h.api.retrieveMultiple<Row>({ collection: 'opportunities', select: ['name'], orderBy: ['_parentaccountid_value asc', 'name desc'], top: 2 });
    expect(result.value).toHaveLength(2);
    const expectedFirst = contosoId < fabrikamId ? 'Echo expansion' : 'Delta deal';
    expect(result.value[0]?.name).toBe(expectedFirst);
  });

  it('rejects unknown columns and mistyped comparisons like the OData layer', async () => {
    const unknown = await expectFailure(h.api.retrieveMultiple({ collection: 'opportunities', select: ['nosuchcolumn'] }));
    expect(unknown.status).toBe(400);
    expect(unknown.message).toBe("Could not find a property named 'nosuchcolumn' on type 'Microsoft.Dynamics.CRM.opportunity'.");
    const mistyped = await expectFailure(h.api.retrieveMultiple({ collection: 'opportunities', filter: "estimatedvalue eq 'big'" }));
    expect(mistyped.message).toContain('incompatible types');
    const syntax = await expectFailure(h.api.retrieveMultiple({ collection: 'opportunities', filter: 'name eq' }));
    expect(syntax.status).toBe(400);
  });

  it('counts through $count and /$count', async () => {
    expect(await h.api.count({ collection: 'opportunities' })).toBe(5);
    expect(await h.api.count({ collection: 'opportunities', filter: `_customerid_value eq ${contosoId}` })).toBe(3);
  });
});

describe('$expand and annotations', () => {
  it('expands single-valued navigation properties with a nested $select', async () => {
    const result = await h.api.retrieveMultiple<Row & { parentaccountid: { name: string; accountid: string } | null; parentcontactid: { fullname: string } | null }>({
      collection: 'opportunities',
      select: ['name'],
      filter: "name eq 'Alpha deal'",
      expand: [
        { property: 'parentaccountid', select: ['name'] },
        { property: 'parentcontactid', select: ['fullname'] },
      ],
    });
    const [row] = result.value;
    expect(row?.parentaccountid?.name).toBe('Contoso');
    expect(row?.parentaccountid?.accountid).toBe(contosoId);
    expect(row?.parentcontactid?.fullname).toBe('Ana Bowen');
    const bad = await expectFailure(h.api.retrieveMultiple({ collection: 'opportunities', expand: [{ property: 'nosuchnav' }] }));
    expect(bad.status).toBe(400);
  });

  it('returns formatted values and lookup annotations with include-annotations', async () => {
    const result = await h.api.retrieveMultiple<Row>({
      collection: 'opportunities',
      select: ['name', 'estimatedvalue', 'estimatedclosedate', 'salesstage', 'statecode', '_customerid_value'],
      filter: "name eq 'Bravo deal'",
      includeAnnotations: '*',
    });
    const row: Row | undefined = result.value[0];
    if (!row) throw new Error('no row');
    expect(row['estimatedvalue@OData.Community.Display.V1.FormattedValue']).toBe('$20,000.00');
    expect(row['estimatedclosedate@OData.Community.Display.V1.FormattedValue']).toBe('2/15/2026');
    expect(row['salesstage@OData.Community.Display.V1.FormattedValue']).toBe('Develop');
    expect(row['statecode@OData.Community.Display.V1.FormattedValue']).toBe('Open');
    expect(row['_customerid_value@OData.Community.Display.V1.FormattedValue']).toBe('Fabrikam');
    expect(row['_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('account');
    expect(row['_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty']).toBe('customerid_account');
    // dynamics-web-api maps the annotations to its own suffixed keys.
    expect(row._customerid_value_Formatted).toBe('Fabrikam');
    const plain = await h.api.retrieveMultiple<Row>({ collection: 'opportunities', select: ['estimatedvalue'], top: 1 });
    expect(Object.keys(plain.value[0] ?? {}).some((key) => key.includes('@OData.Community'))).toBe(false);
  });
});

describe('paging', () => {
  it('pages with odata.maxpagesize, nextLink and Preference-Applied; retrieveAll follows every page', async () => {
    const response = await fetch(`${h.sandbox.url}/api/data/v9.2/opportunities?$select=name&$orderby=name`, {
      headers: { authorization: 'Bearer t', prefer: 'odata.maxpagesize=2' },
    });
    expect(response.headers.get('preference-applied')).toBe('odata.maxpagesize=2');
    const page = (await response.json()) as { value: Row[]; '@odata.nextLink': string };
    expect(page.value.map((row) => row.name)).toEqual(['Alpha deal', 'Bravo deal']);
    expect(page['@odata.nextLink']).toContain('$skiptoken=');
    const second = await h.api.retrieveMultiple<Row>({ collection: 'opportunities', select: ['name'], maxPageSize: 2 }, page['@odata.nextLink']);
    expect(second.value.map((row) => row.name)).toEqual(['Charlie project', 'Delta deal']);

    const all = await h.api.retrieveAll<Row>({ collection: 'opportunities', select: ['name'], orderBy: ['name'], maxPageSize: 2 });
    expect(all.value.map((row) => row.name)).toEqual(names);
    const counts = await h.control<{ routes: Record<string, number> }>('GET', '/_sandbox/requests');
    expect(counts.body.routes['GET /api/data/v9.2/opportunities']).toBeGreaterThanOrEqual(4);
  });
});
