import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerColumns } from '../../../../src/crm/connector.ts';
import { builtInCustomerColumns } from '../../../../src/crm/salesforce/customer-columns.ts';
import { setupSalesforce } from '../../../../src/crm/salesforce/provisioning.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { sellerOpportunity, startHarness, type Harness, type Row } from './helpers.ts';

describe('a deal contact created by the connector', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await setupSalesforce({ connector: h.connector, logger: silentLogger() });
  });
  afterAll(async () => h.close());

  it("gets the mapping file's contact fields, as a customer's contact does", async () => {
    const created = await h.control<Row>('POST', '/_sandbox/records/Opportunity', sellerOpportunity());
    expect(created.status).toBe(201);
    const mapped: CustomerColumns = { ...builtInCustomerColumns, contactValues: (contact) => ({ ...builtInCustomerColumns.contactValues(contact), Title: 'Co-sell contact' }) };
    h.connector.useCustomerColumns(mapped);

    await h.connector.dealContacts.add({ entity: 'opportunity', id: String(created.body.Id) }, [{ firstName: 'Ida', email: 'ida@mapped.example' }]);

    const contact = (await h.records('Contact')).find((row) => row.Email === 'ida@mapped.example');
    // LastName falls back to the mailbox name, as for a customer's contact.
    expect(contact).toMatchObject({ FirstName: 'Ida', LastName: 'ida', Title: 'Co-sell contact' });
  });
});
