import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultMappingPath } from '../../src/crm/vendors.ts';

/**
 * Writes the bundled Dynamics mapping with one change, the opportunity's notes ⇄ description as a `manual` conflict
 * field, into `dir`, and returns its path.
 */
export function writeManualNotesMapping(dir: string): string {
  const bundled = readFileSync(defaultMappingPath('dynamics'), 'utf8');
  const notesField = '      - key: notes\n        pc: details.notes\n        crm: description\n        transform: { type: string, maxLength: 2000 }\n';
  const index = bundled.indexOf(notesField);
  if (index < 0 || index > bundled.indexOf('  lead:')) throw new Error('the opportunity notes field of mappings/dynamics.yaml changed; update this helper');
  const mapping = `${bundled.slice(0, index)}${notesField}        conflict: manual\n${bundled.slice(index + notesField.length)}`;
  const file = join(dir, 'dynamics-manual-notes.yaml');
  writeFileSync(file, mapping);
  return file;
}
