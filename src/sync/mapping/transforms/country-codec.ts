import { alpha2Of, countryNameOf, isAlpha2 } from '../../../crm/country/iso-3166.ts';
import { describeValue, read, unreadable, unwritable, write } from '../canonical.ts';
import type { FieldCodec } from './codec.ts';
import { normalizeText } from './normalize.ts';

/**
 * `countryName`: the canonical value is the ISO 3166 alpha-2 code Partner Center takes; the CRM column holds a name.
 * Both sides read codes, alpha-3 codes and English names alike, so a seller typing "US" or "United States" is the same
 * country as Partner Center's US and no edit is seen where there is none.
 */
export function countryNameCodec(): FieldCodec {
  const toCode = (raw: unknown) => {
    const text = normalizeText(raw);
    if (!text.ok || text.value === null) return text;
    const code = alpha2Of(String(text.value));
    return code ? read(code) : unreadable(`${describeValue(text.value)} is not a country ISO 3166 knows (an English name or a code such as US)`);
  };
  return {
    fromPc: ([raw]) => toCode(raw),
    fromCrm: ([raw]) => toCode(raw),
    toPc: (value) => (value === null || (typeof value === 'string' && isAlpha2(value)) ? write(value) : unwritable(`${describeValue(value)} is not an ISO 3166 alpha-2 code`)),
    toCrm: (value) => {
      if (value === null) return write(null);
      const name = typeof value === 'string' ? countryNameOf(value) : undefined;
      return name ? write(name) : unwritable(`${describeValue(value)} is not an ISO 3166 alpha-2 code`);
    },
  };
}
