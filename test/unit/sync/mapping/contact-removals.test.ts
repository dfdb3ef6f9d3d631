import { describe, expect, it } from 'vitest';
import { bindEntity } from '../../../../src/sync/binding.ts';
import { defaultMappingPath } from '../../../../src/crm/vendors.ts';
import { loadMappingFile } from '../../../../src/sync/mapping/index.ts';
import { parseSpec } from './helpers.ts';

/* The mapping's `propagateContactRemovals`: off unless the file says so (a contact removed on one side is only audited). */

const FIELDS = '    fields:\n      - key: name\n        pc: name\n        crm: name\n';

describe('propagateContactRemovals', () => {
  it('is off in the shipped mappings', async () => {
    for (const crm of ['dynamics', 'salesforce'] as const) {
      const spec = await loadMappingFile(defaultMappingPath(crm), crm);
      const opportunity = spec.entities.opportunity;
      if (!opportunity) throw new Error(`the shipped ${crm} mapping has no opportunity`);
      expect(bindEntity(opportunity).propagateContactRemovals).toBeUndefined();
    }
  });

  it('is on when the opportunity entity sets it', () => {
    const spec = parseSpec(`crm: dynamics\nentities:\n  opportunity:\n    propagateContactRemovals: true\n${FIELDS}`);
    const opportunity = spec.entities.opportunity;
    if (!opportunity) throw new Error('no opportunity');
    expect(bindEntity(opportunity).propagateContactRemovals).toBe(true);
  });
});
