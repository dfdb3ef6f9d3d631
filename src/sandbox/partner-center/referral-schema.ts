import { z } from 'zod';
import { isCountryCode, isCurrencyCode } from '../shared/iso-codes.ts';
import { isIsoDateTime } from '../../util/instant.ts';
import {
  ASSISTANCE_REQUEST_CODES,
  CUSTOMER_PROFILE_ID_TYPES,
  CUSTOMER_SIZES,
  REFERRAL_QUALIFICATIONS,
  REFERRAL_STATUSES,
  REFERRAL_SUBSTATUSES,
  REFERRAL_TYPES,
  SALES_STAGE_VALUES,
  SOLUTION_TYPES,
  TARGET_TYPES,
} from './referral-enums.ts';

/**
 * Enum values are matched case-insensitively and stored in their documented casing: the service is ASP.NET, whose
 * string-enum converter ignores case, so a client sending `"active"` works in production and must work here too.
 */
export function caseInsensitiveEnum<const T extends readonly string[]>(values: T, what: string) {
  const byLower = new Map<string, T[number]>(values.map((value) => [value.toLowerCase(), value]));
  return z.string().transform((input, ctx): T[number] => {
    const match = byLower.get(input.toLowerCase());
    if (match === undefined) {
      ctx.addIssue({ code: 'custom', input, message: `'${input}' is not a valid ${what}; expected one of: ${values.join(', ')}` });
      return z.NEVER;
    }
    return match;
  });
}

const text = z.string();
const optionalText = text.nullish();
const dateTime = z.string().refine(isIsoDateTime, { message: 'must be an ISO 8601 date-time, e.g. 2024-05-01T00:00:00Z' });
const optionalBoolean = z.boolean().nullish();

/** Uppercased before the check so `"us"` is accepted and stored as `"US"` (UNCONFIRMED whether the service is as lenient). */
const countryCode = z.string().transform((input, ctx) => {
  const code = input.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(code) || !isCountryCode(code)) {
    ctx.addIssue({ code: 'custom', input, message: `'${input}' is not an ISO 3166-1 alpha-2 country code (e.g. US, DE)` });
    return z.NEVER;
  }
  return code;
});

const currencyCode = z.string().transform((input, ctx) => {
  const code = input.trim().toUpperCase();
  if (!isCurrencyCode(code)) {
    ctx.addIssue({ code: 'custom', input, message: `'${input}' is not an ISO 4217 currency code (e.g. USD, EUR)` });
    return z.NEVER;
  }
  return code;
});

/** The docs' PATCH sample sends `"10000"` for dealValue; numbers and numeric strings are both accepted (UNCONFIRMED). */
const money = z.unknown().transform((input, ctx) => {
  if (typeof input === 'number' && Number.isFinite(input)) return input;
  if (typeof input === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(input)) return Number(input);
  ctx.addIssue({ code: 'custom', input, message: 'must be a number' });
  return z.NEVER;
});

export const memberSchema = z.object({
  firstName: optionalText,
  lastName: optionalText,
  phoneNumber: optionalText,
  email: optionalText,
  title: optionalText,
  contactPreference: z.object({ locale: optionalText, disableNotifications: optionalBoolean }).nullish(),
});

const addressSchema = z.object({
  addressLine1: optionalText,
  addressLine2: optionalText,
  city: optionalText,
  state: optionalText,
  postalCode: optionalText,
  country: countryCode,
  region: optionalText,
});

const customerProfileSchema = z.object({
  name: text.trim().min(1, 'must not be empty'),
  address: addressSchema,
  size: caseInsensitiveEnum(CUSTOMER_SIZES, 'customer size').nullish(),
  team: z.array(memberSchema).nullish(),
  ids: z.array(z.object({ profileType: caseInsensitiveEnum(CUSTOMER_PROFILE_ID_TYPES, 'profile type'), id: text })).nullish(),
  isMatchingComplete: optionalBoolean,
});

const consentSchema = z.object({
  consentToToShareInfoWithOthers: optionalBoolean,
  consentToContact: optionalBoolean,
  consentToShareReferralWithMicrosoftSellers: optionalBoolean,
  consentToMicrosoftToContactSpecificPartners: optionalBoolean,
});

const tagSchema = z.looseObject({ id: text });
// Loose: observed responses carry extra solution fields (price, quantity, publisherName…) that must survive a round trip.
const solutionTagSchema = z.looseObject({
  id: text,
  name: optionalText,
  type: caseInsensitiveEnum(SOLUTION_TYPES, 'solution type').nullish(),
});

const requirementsSchema = z.looseObject({
  industries: z.array(tagSchema).nullish(),
  products: z.array(tagSchema).nullish(),
  services: z.array(tagSchema).nullish(),
  solutions: z.array(solutionTagSchema).nullish(),
  offers: z.array(z.unknown()).nullish(),
  salesPlays: z.array(z.unknown()).nullish(),
  additionalRequirements: z.record(z.string(), z.unknown()).nullish(),
});

// Loose from here up: fields newer than the docs (or unknown to the sandbox) are kept and echoed, so a client that sends
// them sees them again, as it would from a service that knows them.
const detailsSchema = z.looseObject({
  notes: optionalText,
  dealValue: money.nullish(),
  currency: currencyCode.nullish(),
  closingDateTime: dateTime.nullish(),
  requirements: requirementsSchema.nullish(),
  customerRequestedContact: optionalBoolean,
  customerAction: optionalText,
  incentiveLevel: optionalText,
});

const inviteContextSchema = z.looseObject({
  notes: optionalText,
  invitedBy: z.object({ organizationId: optionalText, organizationName: optionalText }).nullish(),
  assistanceRequestCode: caseInsensitiveEnum(ASSISTANCE_REQUEST_CODES, 'assistance request code').nullish(),
  invitedMpnId: optionalText,
});

const targetSchema = z.object({ id: text, type: caseInsensitiveEnum(TARGET_TYPES, 'target type') });

/**
 * Everything a client may write. Unknown properties are kept and echoed back (the referral contract keeps growing:
 * marketplace fields, services co-sell fields), rather than silently dropped; server fields (id, eTag, timestamps,
 * organization, direction, links) are handled by the service, never taken from here.
 */
export const referralContentSchema = z.looseObject({
  name: text.trim().min(1, 'must not be empty'),
  externalReferenceId: optionalText,
  status: caseInsensitiveEnum(REFERRAL_STATUSES, 'status').nullish(),
  substatus: caseInsensitiveEnum(REFERRAL_SUBSTATUSES, 'substatus').nullish(),
  statusReason: optionalText,
  type: caseInsensitiveEnum(REFERRAL_TYPES, 'referral type'),
  qualification: caseInsensitiveEnum(REFERRAL_QUALIFICATIONS, 'qualification').nullish(),
  expirationDateTime: dateTime.nullish(),
  customerProfile: customerProfileSchema,
  consent: consentSchema,
  details: detailsSchema,
  team: z.array(memberSchema).nullish(),
  inviteContext: inviteContextSchema.nullish(),
  target: z.array(targetSchema).nullish(),
  salesStage: caseInsensitiveEnum(SALES_STAGE_VALUES as readonly [string, ...string[]], 'sales stage').nullish(),
  // V3 contract fields seen in real responses; their value sets are undocumented, so any string is accepted.
  referralSource: optionalText,
  callToAction: optionalText,
  campaignId: optionalText,
  favorite: optionalBoolean,
  lastModifiedVia: optionalText,
  lastRunId: optionalText,
  mpnId: optionalText,
  referralProgram: optionalText,
  quality: optionalText,
  isSpam: optionalBoolean,
  tags: z.array(text).nullish(),
  dealSensitivity: optionalText,
  createdVia: optionalText,
  registrationStatus: optionalText,
  registrations: z.array(z.record(z.string(), z.unknown())).nullish(),
  trackingInfo: z.record(z.string(), z.string().nullable()).nullish(),
  // 2024+ services co-sell fields ("Create a referral": PartnerRole, SolutionArea, SolutionPlay — required only for
  // services co-sell) whose JSON shape is UNCONFIRMED: kept verbatim. Their PascalCase spellings are folded into these
  // keys before parsing (see NEWER_FIELD_KEYS).
  partnerRole: z.unknown().optional(),
  solutionArea: z.unknown().optional(),
  solutionPlay: z.unknown().optional(),
});

export type ReferralContent = z.output<typeof referralContentSchema>;

/**
 * Newer fields whose wire spelling is UNCONFIRMED. ASP.NET binds property names case-insensitively, so `PartnerRole`
 * and `partnerRole` are the same property to the service; the sandbox stores them under the camelCase key it answers
 * with. Marketplace purchase intent is carried by `referralSource` / `callToAction` (marketplace leads) and by
 * `registrations[].solutionDetails[].marketplaceTransactionDetails`; any other marketplace field is kept as sent.
 */
export const NEWER_FIELD_KEYS: ReadonlyMap<string, string> = new Map(
  ['partnerRole', 'solutionArea', 'solutionPlay', 'referralSource', 'callToAction'].map((key) => [key.toLowerCase(), key]),
);
