import type { FieldMapping } from '../spec.ts';
import type { FieldCodec } from './codec.ts';
import { multiValueMapCodec, valueMapCodec } from './map-codecs.ts';
import { booleanCodec, dateCodec, dateTimeCodec, moneyCodec, noneCodec, numberCodec, stringCodec } from './scalar-codecs.ts';
import { constantCodec, joinCodec, lookupCodec, splitCodec, templateCodec } from './text-codecs.ts';
import { countryNameCodec } from './country-codec.ts';

export type { FieldCodec, LookupReference } from './codec.ts';
export { isLookupReference } from './codec.ts';

const cache = new WeakMap<FieldMapping, FieldCodec>();

/** The codec of a field, built once per loaded field (value maps build their classes once, not per record). */
export function codecFor(field: FieldMapping): FieldCodec {
  let codec = cache.get(field);
  if (!codec) {
    codec = buildCodec(field);
    cache.set(field, codec);
  }
  return codec;
}

function buildCodec(field: FieldMapping): FieldCodec {
  const t = field.transform;
  switch (t.type) {
    case 'none':
      return noneCodec();
    case 'string':
      return stringCodec(t);
    case 'number':
      return numberCodec();
    case 'money':
      return moneyCodec(t);
    case 'boolean':
      return booleanCodec(t);
    case 'date':
      return dateCodec();
    case 'datetime':
      return dateTimeCodec();
    case 'valueMap':
      return valueMapCodec(t, Math.max(field.pc.length, 1));
    case 'multiValueMap':
      return multiValueMapCodec(t);
    case 'template':
      return templateCodec(t, field.pc.map((p) => p.text));
    case 'join':
      return joinCodec(t, field.pc.length);
    case 'split':
      return splitCodec(t, field.crm.length);
    case 'lookup':
      return lookupCodec(t);
    case 'constant':
      return constantCodec(t, field.direction === 'to-crm');
    case 'countryName':
      return countryNameCodec();
  }
}
