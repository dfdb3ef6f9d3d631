import { randomInt } from 'node:crypto';

/** Key prefixes: the first three characters of every Salesforce id name the object type (REST API Developer Guide). */
export const KEY_PREFIX = {
  Account: '001',
  Contact: '003',
  User: '005',
  Opportunity: '006',
  /** OpportunityContactRole and OpportunityTeamMember key prefixes as seen in real orgs (UNCONFIRMED in the docs). */
  OpportunityContactRole: '00K',
  OpportunityTeamMember: '00q',
  Organization: '00D',
  CustomField: '00N',
  CustomObject: '01I',
  /** UNCONFIRMED prefix; CurrencyType rows are rarely addressed by id. */
  CurrencyType: '02D',
  Lead: '00Q',
  OpportunityStage: '01J',
  QueryLocator: '01g',
  OutboundMessage: '04k',
  OutboundNotification: '04l',
} as const;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID15 = /^[a-zA-Z0-9]{15}$/;
const ID18 = /^[a-zA-Z0-9]{18}$/;

/**
 * The three-character suffix that makes an 18-character id case-insensitively unique: one character per 5-character
 * chunk, encoding which of its letters are upper case.
 */
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

/** Accepts a 15- or 18-character id and returns the 18-character form, or undefined when it is not an id at all. */
export function toId18(value: string): string | undefined {
  if (ID15.test(value)) return value + checksumSuffix(value);
  if (ID18.test(value)) {
    const id15 = value.slice(0, 15);
    // The suffix is case-insensitive by design; a client that upper-cased it still means the same record.
    return value.slice(15).toUpperCase() === checksumSuffix(id15) ? id15 + checksumSuffix(id15) : undefined;
  }
  return undefined;
}

export function keyPrefixOf(id: string): string {
  return id.slice(0, 3);
}

function base62(value: number, width: number): string {
  let text = '';
  let rest = value;
  do {
    text = BASE62.charAt(rest % 62) + text;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  return text.padStart(width, '0');
}

/**
 * Mints 18-character ids. The two "pod" characters are random per sandbox start so that ids from an earlier run (kept
 * in a client's database) never collide with new records after a restart.
 */
export class IdGenerator {
  private readonly pod = BASE62.charAt(randomInt(10, 62)) + BASE62.charAt(randomInt(0, 62));
  private readonly counters = new Map<string, number>();

  next(prefix: string): string {
    const count = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, count);
    const id15 = `${prefix}${this.pod}0${base62(count, 9)}`;
    return id15 + checksumSuffix(id15);
  }

  /** A fixed id for well-known rows (the org, its users), stable across restarts. */
  static fixed(prefix: string, serial: number): string {
    const id15 = `${prefix}Sb0${base62(serial, 9)}`;
    return id15 + checksumSuffix(id15);
  }
}
