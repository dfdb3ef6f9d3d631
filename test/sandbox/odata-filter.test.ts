import { describe, expect, it } from 'vitest';
import { engagementScope, evaluateFilter } from '../../src/sandbox/partner-center/odata/filter-evaluator.ts';
import { parseFilter } from '../../src/sandbox/partner-center/odata/filter-parser.ts';
import { ODataQueryError } from '../../src/sandbox/partner-center/odata/odata-error.ts';
import { REFERRAL_TYPE } from '../../src/sandbox/partner-center/odata/referral-fields.ts';

const referrals = [
  {
    id: 'a',
    name: "O'Brien Ltd - Azure",
    status: 'New',
    substatus: 'Pending',
    type: 'Shared',
    direction: 'Incoming',
    qualification: 'SalesQualified',
    engagementId: 'e1',
    externalReferenceId: null,
    createdDateTime: '2024-01-01T00:00:00.0000001Z',
    updatedDateTime: '2024-03-01T10:00:00.5000000Z',
    customerProfile: { name: "O'Brien Ltd", address: { country: 'IE' } },
    details: { dealValue: 10000, currency: 'EUR' },
    team: [{ email: 'r2d2@contoso.com' }, { email: 'c3po@contoso.com' }],
    tags: ['priority'],
    favorite: true,
  },
  {
    id: 'b',
    name: 'Contoso - D365',
    status: 'Active',
    substatus: 'Accepted',
    type: 'Shared',
    direction: 'Outgoing',
    qualification: 'SalesQualified',
    engagementId: 'e2',
    externalReferenceId: 'CRM-1',
    createdDateTime: '2024-01-01T00:00:00.0000002Z',
    updatedDateTime: '2024-03-02T00:00:00Z',
    customerProfile: { name: 'Contoso', address: { country: 'US' } },
    details: { dealValue: 50000, currency: 'USD' },
    team: [{ email: 'jane@contoso.com' }],
    tags: [],
    favorite: false,
  },
  {
    id: 'c',
    name: 'Fabrikam - Security',
    status: 'Closed',
    substatus: 'Won',
    type: 'Independent',
    direction: 'Outgoing',
    qualification: 'Direct',
    engagementId: 'e2',
    createdDateTime: '2023-12-31T23:59:59Z',
    updatedDateTime: '2024-02-01T00:00:00+01:00',
    customerProfile: { name: 'Fabrikam', address: { country: 'DE' } },
    details: { dealValue: 75000.5, currency: 'EUR' },
    team: [],
  },
];

function ids(filter: string): string[] {
  const expression = parseFilter(filter, REFERRAL_TYPE, 'Referral');
  return referrals.filter((referral) => evaluateFilter(expression, referral)).map((referral) => referral.id);
}

function errorOf(filter: string): string {
  try {
    parseFilter(filter, REFERRAL_TYPE, 'Referral');
  } catch (error) {
    expect(error).toBeInstanceOf(ODataQueryError);
    return (error as Error).message;
  }
  throw new Error(`expected '${filter}' to be rejected`);
}

describe('OData $filter', () => {
  it('evaluates the documented examples', () => {
    expect(ids("engagementId eq 'e2'")).toEqual(['b', 'c']);
    expect(ids("status eq 'New' and qualification eq 'SalesQualified'")).toEqual(['a']);
    expect(ids("customerProfile/address/country eq 'US' and direction eq 'Outgoing'")).toEqual(['b']);
    expect(ids("(type eq 'Shared' and direction eq 'Incoming')")).toEqual(['a']);
    expect(ids("status eq 'Active' and direction eq 'Outgoing' and type eq 'Shared' and team/any(t:t/email eq 'jane@contoso.com')")).toEqual(['b']);
  });

  it('supports every comparison operator on numbers', () => {
    expect(ids('details/dealValue eq 50000')).toEqual(['b']);
    expect(ids('details/dealValue ne 50000')).toEqual(['a', 'c']);
    expect(ids('details/dealValue gt 50000')).toEqual(['c']);
    expect(ids('details/dealValue ge 50000')).toEqual(['b', 'c']);
    expect(ids('details/dealValue lt 50000')).toEqual(['a']);
    expect(ids('details/dealValue le 50000')).toEqual(['a', 'b']);
    expect(ids('details/dealValue gt 75000.25')).toEqual(['c']);
  });

  it('applies precedence: and binds tighter than or; parentheses and not override it', () => {
    expect(ids("status eq 'New' or status eq 'Active' and direction eq 'Incoming'")).toEqual(['a']);
    expect(ids("(status eq 'New' or status eq 'Active') and direction eq 'Outgoing'")).toEqual(['b']);
    expect(ids("not (status eq 'Closed')")).toEqual(['a', 'b']);
    expect(ids("not status eq 'Closed' and type eq 'Shared'")).toEqual(['a', 'b']);
    expect(ids("((status eq 'Closed'))")).toEqual(['c']);
  });

  it('compares date-times as instants, bare or quoted, with offsets and sub-millisecond precision', () => {
    expect(ids('updatedDateTime ge 2024-03-01T00:00:00Z')).toEqual(['a', 'b']);
    expect(ids("updatedDateTime ge '2024-03-01T10:00:00.5Z'")).toEqual(['a', 'b']);
    expect(ids('updatedDateTime gt 2024-03-01T10:00:00.5Z')).toEqual(['b']);
    // 2024-02-01T00:00:00+01:00 is 2024-01-31T23:00:00Z.
    expect(ids('updatedDateTime lt 2024-01-31T23:30:00Z')).toEqual(['c']);
    expect(ids('createdDateTime gt 2024-01-01T00:00:00.0000001Z')).toEqual(['b']);
    expect(ids("createdDateTime lt datetime'2024-01-01T00:00:00Z'")).toEqual(['c']);
    expect(ids('createdDateTime lt 2024-01-01')).toEqual(['c']);
    // An unencoded '+' arrives as a space after form decoding.
    expect(ids('updatedDateTime lt 2024-02-01T00:30:00 01:00')).toEqual(['c']);
  });

  it("handles string literals with '' escaping, null, booleans and string functions", () => {
    expect(ids("customerProfile/name eq 'O''Brien Ltd'")).toEqual(['a']);
    expect(ids('externalReferenceId eq null')).toEqual(['a', 'c']);
    expect(ids('externalReferenceId ne null')).toEqual(['b']);
    expect(ids('favorite eq true')).toEqual(['a']);
    expect(ids('favorite')).toEqual(['a']);
    expect(ids("contains(name, 'D365')")).toEqual(['b']);
    expect(ids("startswith(tolower(name), 'fabrikam')")).toEqual(['c']);
  });

  it('matches enum values case-insensitively, and property names too', () => {
    expect(ids("status eq 'closed'")).toEqual(['c']);
    expect(ids("Status eq 'Closed' and CustomerProfile/Address/Country eq 'DE'")).toEqual(['c']);
  });

  it('supports any() and all() over collections, including empty ones and primitive collections', () => {
    expect(ids("team/any(t: t/email eq 'c3po@contoso.com')")).toEqual(['a']);
    expect(ids('team/any()')).toEqual(['a', 'b']);
    expect(ids('not team/any()')).toEqual(['c']);
    expect(ids("team/all(m: endswith(m/email, '@contoso.com'))")).toEqual(['a', 'b', 'c']);
    expect(ids("tags/any(x: x eq 'priority')")).toEqual(['a']);
    expect(ids("team/any(t: t/email eq 'jane@contoso.com') or team/any(t: t/email eq 'r2d2@contoso.com')")).toEqual(['a', 'b']);
  });

  it('rejects unknown fields and bad syntax with a message naming the problem', () => {
    expect(errorOf("colour eq 'red'")).toContain("property named 'colour'");
    expect(errorOf("customerProfile/address/planet eq 'Mars'")).toContain("'planet'");
    expect(errorOf("status eq 'New' and")).toMatch(/expected a value or property/);
    expect(errorOf("(status eq 'New'")).toContain("expected ')'");
    expect(errorOf("status eq 'New")).toContain('Unterminated string');
    expect(errorOf("status equals 'New'")).toContain("Unknown operator 'equals'");
    expect(errorOf("status eq 'New' status eq 'Active'")).toMatch(/unexpected 'status'/);
    expect(errorOf('details/dealValue eq \'lots\'')).toContain('cannot compare');
    expect(errorOf("updatedDateTime ge 'yesterday'")).toContain('not a valid date-time');
    expect(errorOf("customerProfile eq 'x'")).toContain('cannot be compared');
    expect(errorOf("status/any(s: s eq 'x')")).toContain('not a collection');
    expect(errorOf("frobnicate(name, 'x')")).toContain("Unknown function 'frobnicate'");
    expect(errorOf('status eq #')).toContain("Unexpected character '#'");
    expect(errorOf('  ')).toContain('empty');
  });

  it('finds the engagement a filter is scoped to, only through the top-level conjunction', () => {
    const scope = (filter: string): string[] => engagementScope(parseFilter(filter, REFERRAL_TYPE, 'Referral'));
    expect(scope("engagementId eq 'e1'")).toEqual(['e1']);
    expect(scope("status eq 'New' and engagementId eq 'e2'")).toEqual(['e2']);
    expect(scope("engagementId eq 'e1' or status eq 'New'")).toEqual([]);
    expect(scope("not engagementId eq 'e1'")).toEqual([]);
  });
});
