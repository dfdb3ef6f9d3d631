import { describe, expect, it } from 'vitest';
import { bindEntity } from '../../../../src/sync/binding.ts';
import { parseSpec } from './helpers.ts';

/** Contacts and the partner team sync by default; a mapping turns them off with `syncContactsAndTeam: false`. */
describe('syncContactsAndTeam', () => {
  const mapping = (option: string) =>
    parseSpec(`crm: dynamics\nprefix: cosell\nentities:\n  opportunity:\n${option}    fields:\n      - { key: name, pc: name, crm: name }\n  lead:\n    fields:\n      - { key: name, pc: name, crm: subject }\n`);

  it('is on for opportunities when the file does not mention it, and never for leads', () => {
    const spec = mapping('');
    expect(bindEntity(spec.entities.opportunity!).syncContactsAndTeam).toBe(true);
    expect(bindEntity(spec.entities.lead!).syncContactsAndTeam).toBeUndefined();
  });

  it('is off when the file says false, on when it says true', () => {
    expect(bindEntity(mapping('    syncContactsAndTeam: false\n').entities.opportunity!).syncContactsAndTeam).toBeUndefined();
    expect(bindEntity(mapping('    syncContactsAndTeam: true\n').entities.opportunity!).syncContactsAndTeam).toBe(true);
  });
});
