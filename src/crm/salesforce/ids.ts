/*
 * Salesforce record ids (REST API Developer Guide): 15 characters, case-sensitive, or 18 with a 3-character suffix that
 * encodes the case of the first 15. The connector always hands out the 18-character form, so links and change events
 * agree.
 */

const ID15 = /^[a-zA-Z0-9]{15}$/;
const ID18 = /^[a-zA-Z0-9]{18}$/;
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

function checksumSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk += 1) {
    let bits = 0;
    for (let position = 0; position < 5; position += 1) {
      const char = id15.charAt(chunk * 5 + position);
      if (char >= 'A' && char <= 'Z') bits |= 1 << position;
    }
    suffix += SUFFIX_ALPHABET.charAt(bits);
  }
  return suffix;
}

/** The 18-character form of a 15- or 18-character id, or undefined when the text is not a (consistent) id. */
export function toId18(value: string): string | undefined {
  const text = value.trim();
  if (ID15.test(text)) return text + checksumSuffix(text);
  if (ID18.test(text)) {
    const id15 = text.slice(0, 15);
    const suffix = checksumSuffix(id15);
    // The suffix is case-insensitive by design; one that does not match the first 15 characters names no record.
    return text.slice(15).toUpperCase() === suffix ? id15 + suffix : undefined;
  }
  return undefined;
}

/** Whether two ids (15 or 18 characters) name the same record. */
export function sameId(a: string, b: string): boolean {
  const left = toId18(a);
  return left !== undefined && left === toId18(b);
}

/** An 18-character id when the text is an id with the expected key prefix (`006` Opportunity), else undefined. */
export function idWithPrefix(value: string, keyPrefix: string): string | undefined {
  const id = toId18(value);
  return id !== undefined && id.startsWith(keyPrefix) ? id : undefined;
}
