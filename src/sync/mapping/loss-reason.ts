import type { LossReasonSpec } from './spec.ts';
import { valueMapCodec } from './transforms/map-codecs.ts';

/**
 * Partner Center's `statusReason` of a lost referral ⇄ the CRM's loss reason, through the mapping file's value map.
 * Partner Center takes the reason as free text ("Update a referral": `statusReason`), so a CRM value the map does not
 * know is sent as its own text when it is text and there is no `default.pc`; toward the CRM an unknown reason takes
 * `default.crm`, else nothing is written (a picklist would refuse a value it does not hold).
 */
export interface LossReasonConversion {
  /** The CRM column (Dynamics: the virtual `@lossReason`, the lost status reason; Salesforce: a custom field). */
  column: string;
  toPc(crmValue: unknown): string | undefined;
  toCrm(statusReason: unknown): unknown;
}

export function lossReasonConversion(spec: LossReasonSpec): LossReasonConversion {
  const codec = valueMapCodec(spec.transform, 1);
  // A default outside every map entry is a value of no class, which the codec cannot write: applied here.
  const fallback = spec.transform.default ?? {};
  return {
    column: spec.crm,
    toPc(crmValue) {
      if (crmValue === null || crmValue === undefined || crmValue === '') return undefined;
      const label = codec.fromCrm([crmValue]);
      const written = label.ok ? codec.toPc(label.value) : undefined;
      const text = written?.ok ? written.values[0] : undefined;
      if (typeof text === 'string' && text.trim() !== '') return text;
      if (typeof fallback.pc === 'string') return fallback.pc;
      return typeof crmValue === 'string' ? crmValue : undefined;
    },
    toCrm(statusReason) {
      const reason = typeof statusReason === 'string' ? statusReason.trim() : '';
      // No reason: nothing to write (Dynamics then loses with its configured lostStatusCode).
      if (reason === '') return undefined;
      const label = codec.fromPc([reason]);
      const written = label.ok ? codec.toCrm(label.value) : undefined;
      return written?.ok && written.values[0] !== undefined ? written.values[0] : fallback.crm;
    },
  };
}
