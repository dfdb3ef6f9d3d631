import { z } from 'zod';

/*
 * The Partner Center Referral (V3 contract) as zod schemas — "Referral resources".
 *
 * Response schemas are deliberately tolerant: every object keeps keys we do not know (real responses carry more than
 * the docs list), almost every field is optional and may be null (the doc samples show nulls, e.g.
 * `externalReferenceId`), and enum fields accept values we have never seen. A referral that fails to parse cannot be
 * synced at all, whereas an unknown field or value merely goes unmapped.
 */

// ---------------------------------------------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------------------------------------------

export const REFERRAL_STATUSES = ['None', 'New', 'Active', 'Closed'] as const;
export type ReferralStatus = (typeof REFERRAL_STATUSES)[number];

export const REFERRAL_SUBSTATUSES = ['None', 'Pending', 'Received', 'Accepted', 'Won', 'Lost', 'Declined', 'Expired'] as const;
export type ReferralSubstatus = (typeof REFERRAL_SUBSTATUSES)[number];

export const REFERRAL_TYPES = ['Shared', 'Independent'] as const;
export type ReferralType = (typeof REFERRAL_TYPES)[number];

export const REFERRAL_QUALIFICATIONS = ['None', 'Direct', 'MarketingQualified', 'SalesQualified'] as const;
export type ReferralQualification = (typeof REFERRAL_QUALIFICATIONS)[number];

export const DIRECTIONS = ['Incoming', 'Outgoing'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** The API form of "How can Microsoft help?" (`inviteContext.assistanceRequestCode`). */
export const ASSISTANCE_REQUEST_CODES = [
  'Unknown',
  'GeneralOrOther',
  'CustomerTechnicalArchitecture',
  'ProofOfConceptOrDemo',
  'QuotesOrLicensing',
  'PostSalesCustomerSuccess',
  'WorkloadSpecificValueProposition',
] as const;
export type AssistanceRequestCode = (typeof ASSISTANCE_REQUEST_CODES)[number];

export const CUSTOMER_SIZES = [
  '1to50employees',
  '51to500employees',
  'Morethan500employees',
  '1to9employees',
  '10to50employees',
  '51to250employees',
  '251to1000employees',
  '1001to5000employees',
  '5001to10000employees',
  '10001to20000employees',
  'Morethan20000employees',
] as const;
export type CustomerSize = (typeof CUSTOMER_SIZES)[number];

export const SOLUTION_TYPES = ['None', 'Category', 'Name'] as const;
export type SolutionType = (typeof SOLUTION_TYPES)[number];

export const TARGET_TYPES = ['None', 'BusinessProfileLocation', 'SolutionProfile'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

/**
 * Sales stages, every spelling Partner Center may use. Its UI names the stages with percentages ("Manage co-sell
 * opportunities": Created / Accepted 10 %, Qualified 20 %, Developed 40 %, Proposed 60 %, Negotiated 80 %, Won 100 %,
 * "if you're passing these values using the API, this is how Partner Center recognizes the deal sales stages"); the
 * Power Automate connector's enum is Qualify/Develop/Propose/Close and a real response held "100". Which spelling the
 * API returns is UNCONFIRMED, so a mapping file may name any of them, and the tolerant parsing below keeps any other
 * string rather than refusing the referral.
 */
export const SALES_STAGES = [
  'Created',
  'Accepted',
  'Qualified',
  'Developed',
  'Proposed',
  'Negotiated',
  'Won',
  'Qualify',
  'Develop',
  'Propose',
  'Close',
  '10',
  '20',
  '40',
  '60',
  '80',
  '100',
] as const;
export type SalesStage = (typeof SALES_STAGES)[number];

export const CUSTOMER_PROFILE_ID_TYPES = ['Duns', 'External'] as const;
export type CustomerProfileIdType = (typeof CUSTOMER_PROFILE_ID_TYPES)[number];

/** A value the service sent that is not (yet) in our enum list; branded so it cannot be mistaken for a known value. */
export type UnknownEnumValue = string & z.$brand<'UnknownEnumValue'>;

/**
 * An enum as it appears in a *response*: a known value, or any other string kept verbatim. Microsoft adds enum
 * values without notice (the V3 contract already has more than the docs), and rejecting a whole referral for one new
 * value would stop its sync; the sync code handles the unknown case explicitly instead.
 */
function tolerantEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z.union([z.enum(values), z.string().brand<'UnknownEnumValue'>()]);
}

// ---------------------------------------------------------------------------------------------------------------
// Status / substatus rules ("Referral resources")
// ---------------------------------------------------------------------------------------------------------------

/**
 * The documented transition table. `None` is absent on purpose: it appears in the enum lists but the docs give it no
 * transitions, so we never write it.
 */
export const STATUS_TRANSITIONS = {
  New: { to: ['New', 'Active', 'Closed'], substatuses: ['Pending', 'Received'] },
  Active: { to: ['Active', 'Closed'], substatuses: ['Accepted'] },
  Closed: { to: ['Closed'], substatuses: ['Won', 'Lost', 'Declined', 'Expired'] },
} as const satisfies Record<string, { to: readonly ReferralStatus[]; substatuses: readonly ReferralSubstatus[] }>;

type WritableStatus = keyof typeof STATUS_TRANSITIONS;

const TERMINAL_SUBSTATUSES: readonly string[] = STATUS_TRANSITIONS.Closed.substatuses;

function isWritableStatus(status: string): status is WritableStatus {
  return Object.hasOwn(STATUS_TRANSITIONS, status);
}

export function isValidStatusPair(status: string, substatus: string): boolean {
  if (!isWritableStatus(status)) return false;
  const allowed: readonly string[] = STATUS_TRANSITIONS[status].substatuses;
  return allowed.includes(substatus);
}

export function canTransition(fromStatus: string, toStatus: string): boolean {
  if (!isWritableStatus(fromStatus)) return false;
  const allowed: readonly string[] = STATUS_TRANSITIONS[fromStatus].to;
  return allowed.includes(toStatus);
}

/** Won, lost, declined and expired referrals cannot be edited any more; writes to them are always rejected. */
export function isTerminal(referral: { status?: string | null; substatus?: string | null }): boolean {
  if (referral.status === 'Closed') return true;
  return referral.substatus != null && TERMINAL_SUBSTATUSES.includes(referral.substatus);
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------------------------

const text = z.string().nullish();
const flag = z.boolean().nullish();
/** Timestamps are kept as the service's strings: reformatting them would make our echo detection see changes. */
const timestamp = z.string().nullish();

/**
 * Money and quantities: JSON numbers in responses, but the PATCH doc sample sends `"10000"`, so a numeric string is
 * accepted too and turned into a number (UNCONFIRMED which form the service echoes back; tolerate both).
 */
const decimal = z.union([
  z.number(),
  z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'expected a number or a numeric string')
    .transform(Number),
]);

function list<T extends z.ZodType>(item: T) {
  return z.array(item).nullish();
}

export const contactPreferenceSchema = z.looseObject({
  locale: text,
  disableNotifications: flag,
});

export const memberSchema = z.looseObject({
  firstName: text,
  lastName: text,
  phoneNumber: text,
  email: text,
  title: text,
  contactPreference: contactPreferenceSchema.nullish(),
});
export type Member = z.infer<typeof memberSchema>;

export const addressSchema = z.looseObject({
  addressLine1: text,
  addressLine2: text,
  city: text,
  state: text,
  postalCode: text,
  /** ISO 3166 alpha-2 per the 2023 docs; not enforced on responses because older data may hold other forms. */
  country: text,
  region: text,
});
export type Address = z.infer<typeof addressSchema>;

export const customerProfileIdSchema = z.looseObject({
  profileType: tolerantEnum(CUSTOMER_PROFILE_ID_TYPES).nullish(),
  id: text,
});

export const customerProfileSchema = z.looseObject({
  id: text,
  name: text,
  address: addressSchema.nullish(),
  size: tolerantEnum(CUSTOMER_SIZES).nullish(),
  team: list(memberSchema),
  ids: list(customerProfileIdSchema),
  isMatchingComplete: flag,
});
export type CustomerProfile = z.infer<typeof customerProfileSchema>;

export const consentSchema = z.looseObject({
  /** The doubled "To" is the real wire key, not a typo of ours. */
  consentToToShareInfoWithOthers: flag,
  consentToContact: flag,
  /** `false` makes the referral a private deal. */
  consentToShareReferralWithMicrosoftSellers: flag,
  /** Only seen in a third-party typing (UNCONFIRMED); declared so it is typed when present. */
  consentToMicrosoftToContactSpecificPartners: flag,
});
export type Consent = z.infer<typeof consentSchema>;

export const invitedBySchema = z.looseObject({
  /** `"msft"` when Microsoft invited. */
  organizationId: text,
  organizationName: text,
});

export const inviteContextSchema = z.looseObject({
  notes: text,
  invitedBy: invitedBySchema.nullish(),
  assistanceRequestCode: tolerantEnum(ASSISTANCE_REQUEST_CODES).nullish(),
  invitedMpnId: text,
});
export type InviteContext = z.infer<typeof inviteContextSchema>;

export const tagSchema = z.looseObject({ id: text });
export type Tag = z.infer<typeof tagSchema>;

export const solutionTagSchema = z.looseObject({
  id: text,
  name: text,
  type: tolerantEnum(SOLUTION_TYPES).nullish(),
  price: decimal.nullish(),
  quantity: decimal.nullish(),
  currency: text,
  publisherName: text,
  solutionType: text,
  closingDateTime: timestamp,
});
export type SolutionTag = z.infer<typeof solutionTagSchema>;

export const referralRequirementsSchema = z.looseObject({
  industries: list(tagSchema),
  products: list(tagSchema),
  services: list(tagSchema),
  solutions: list(solutionTagSchema),
  offers: list(z.unknown()),
  salesPlays: list(z.unknown()),
  /** e.g. `iot{customerLicenseAgreementNumber, deviceCategory, ...}`; shape varies by programme. */
  additionalRequirements: z.looseObject({}).nullish(),
  attributes: list(z.looseObject({ type: text, id: text })),
});
export type ReferralRequirements = z.infer<typeof referralRequirementsSchema>;

export const referralDetailsSchema = z.looseObject({
  notes: text,
  dealValue: decimal.nullish(),
  /** ISO 4217, e.g. "USD". */
  currency: text,
  closingDateTime: timestamp,
  requirements: referralRequirementsSchema.nullish(),
  customerRequestedContact: flag,
  customerAction: text,
  incentiveLevel: text,
});
export type ReferralDetails = z.infer<typeof referralDetailsSchema>;

export const targetSchema = z.looseObject({
  id: text,
  type: tolerantEnum(TARGET_TYPES).nullish(),
});
export type Target = z.infer<typeof targetSchema>;

export const linkSchema = z.looseObject({ uri: text, method: text });

/** The docs' samples misspell the path as `/engagments/`, so these links are informational only, never followed. */
export const referralLinksSchema = z.looseObject({
  relatedReferrals: linkSchema.nullish(),
  self: linkSchema.nullish(),
});

export const trackingInfoSchema = z.looseObject({
  /** Microsoft's CRM (MSX) opportunity id, filled when Microsoft accepts a co-sell referral. */
  microsoftMsxId: text,
  microsoftUSFedOpportunityId: text,
  microsoftUSFedLeadId: text,
  migratedPSCDealId: text,
  migratedPSCPartnerDealId: text,
});

export const registrationSchema = z.looseObject({
  id: text,
  registrationDateTime: timestamp,
  status: text,
  statusReason: text,
  contract: z
    .looseObject({
      value: decimal.nullish(),
      currency: text,
      startDateTime: timestamp,
      endDateTime: timestamp,
      signDateTime: timestamp,
      term: z.union([z.string(), z.number()]).nullish(),
    })
    .nullish(),
  solutionDetails: list(
    z.looseObject({
      id: text,
      name: text,
      value: decimal.nullish(),
      isDeployedOnAzure: flag,
      primaryDeploymentOn: text,
      pricingModel: text,
      marketplaceTransactionDetails: z
        .looseObject({ isMarketplaceTransacted: flag, marketplaceTransactionDateTime: timestamp })
        .nullish(),
    }),
  ),
  statusHistory: z
    .looseObject({
      reviewPendingDateTime: timestamp,
      actionRequiredDateTime: timestamp,
      passedDateTime: timestamp,
      failedDateTime: timestamp,
    })
    .nullish(),
});

// ---------------------------------------------------------------------------------------------------------------
// Referral
// ---------------------------------------------------------------------------------------------------------------

/** Only `id` is required: without it a referral cannot be addressed; everything else is best effort. */
export const referralSchema = z.looseObject({
  '@odata.context': text,
  id: z.string().min(1),
  engagementId: text,
  name: text,
  organizationId: text,
  organizationName: text,
  externalReferenceId: text,
  createdDateTime: timestamp,
  updatedDateTime: timestamp,
  expirationDateTime: timestamp,
  acceptedDateTime: timestamp,
  closedDateTime: timestamp,
  status: tolerantEnum(REFERRAL_STATUSES).nullish(),
  substatus: tolerantEnum(REFERRAL_SUBSTATUSES).nullish(),
  statusReason: text,
  type: tolerantEnum(REFERRAL_TYPES).nullish(),
  qualification: tolerantEnum(REFERRAL_QUALIFICATIONS).nullish(),
  /** Marketplace-lead fields; values undocumented (UNCONFIRMED), so plain strings. */
  referralSource: text,
  callToAction: text,
  customerProfile: customerProfileSchema.nullish(),
  consent: consentSchema.nullish(),
  details: referralDetailsSchema.nullish(),
  team: list(memberSchema),
  inviteContext: inviteContextSchema.nullish(),
  target: list(targetSchema),
  eTag: text,
  links: referralLinksSchema.nullish(),
  direction: tolerantEnum(DIRECTIONS).nullish(),
  salesStage: tolerantEnum(SALES_STAGES).nullish(),
  campaignId: text,
  favorite: flag,
  /** Undocumented; possibly meant for integration loop control (UNCONFIRMED). */
  lastModifiedVia: text,
  lastRunId: text,
  mpnId: text,
  referralProgram: text,
  quality: text,
  isSpam: flag,
  tags: list(z.string()),
  dealSensitivity: text,
  createdVia: text,
  registrationStatus: text,
  registrations: list(registrationSchema),
  trackingInfo: trackingInfoSchema.nullish(),
  /**
   * 2024+ services co-sell fields ("Create a referral": PartnerRole, SolutionArea, SolutionPlay) whose JSON shape is
   * UNCONFIRMED: kept as whatever arrives. Marketplace purchase intent arrives as `referralSource` / `callToAction` and
   * in `registrations[].solutionDetails[].marketplaceTransactionDetails`; anything newer is kept by the loose object.
   */
  partnerRole: z.unknown().optional(),
  solutionArea: z.unknown().optional(),
  solutionPlay: z.unknown().optional(),
});
export type Referral = z.infer<typeof referralSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Co-sell with Microsoft
// ---------------------------------------------------------------------------------------------------------------

/** Microsoft's organization id: `invitedBy.organizationId`, the owner of Microsoft's referrals, and its target id. */
export const MICROSOFT_ORGANIZATION_ID = 'msft';

/** The target of the connected Microsoft referral ("Create a referral", creating a shared referral via API). */
export const MICROSOFT_TARGET = { type: 'BusinessProfileLocation', id: MICROSOFT_ORGANIZATION_ID } as const;

/** Microsoft's side of an engagement: owned by Microsoft, or the connected referral that targets Microsoft. */
export function isMicrosoftSide(referral: Pick<Referral, 'organizationId' | 'target'>): boolean {
  if (typeof referral.organizationId === 'string' && referral.organizationId.toLowerCase() === MICROSOFT_ORGANIZATION_ID) return true;
  return (referral.target ?? []).some(
    (t) => t?.type === MICROSOFT_TARGET.type && typeof t.id === 'string' && t.id.toLowerCase() === MICROSOFT_ORGANIZATION_ID,
  );
}

/**
 * One of the partner's solutions. Partner Center's REST reference documents no API that lists them (Microsoft's
 * co-sell connectors pre-load them from Excel), so the route is configurable; the sandbox serves its catalogue at
 * `/_sandbox/solutions`. Tolerant like every response schema.
 */
export const partnerSolutionSchema = z.looseObject({
  id: z.string().min(1),
  name: text,
  coSellReady: flag,
  solutionType: text,
});
export type PartnerSolution = z.infer<typeof partnerSolutionSchema>;

export const solutionListResponseSchema = z.looseObject({
  '@odata.count': z.number().nullish(),
  value: z.array(partnerSolutionSchema),
});

export const referralListResponseSchema = z.looseObject({
  '@odata.context': text,
  '@odata.count': z.number().nullish(),
  '@odata.nextLink': text,
  value: z.array(referralSchema),
});
export type ReferralListResponse = z.infer<typeof referralListResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Create body
// ---------------------------------------------------------------------------------------------------------------

/*
 * What we send is validated strictly where the docs are clear (required fields, enum values, status pairs, ISO codes)
 * so that bad input fails here with a clear reason instead of as a 400 from the service. Unknown keys still pass:
 * newer create fields (partnerRole, solutionArea, solutionPlay) have no confirmed shape yet.
 */

const countryCode = z.string().regex(/^[A-Za-z]{2}$/, 'expected an ISO 3166 alpha-2 country code such as "US"');
const currencyCode = z.string().regex(/^[A-Za-z]{3}$/, 'expected an ISO 4217 currency code such as "USD"');

const createAddressSchema = addressSchema.extend({ country: countryCode.nullish() });

const createCustomerProfileSchema = customerProfileSchema.extend({
  name: z.string().min(1),
  address: createAddressSchema.nullish(),
  size: z.enum(CUSTOMER_SIZES).nullish(),
});

const createDetailsSchema = referralDetailsSchema.extend({
  currency: currencyCode.nullish(),
  requirements: referralRequirementsSchema
    .extend({ solutions: list(solutionTagSchema.extend({ type: z.enum(SOLUTION_TYPES).nullish() })) })
    .nullish(),
});

export const referralCreateSchema = z
  .looseObject({
    name: z.string().min(1),
    type: z.enum(REFERRAL_TYPES),
    customerProfile: createCustomerProfileSchema,
    consent: consentSchema,
    details: createDetailsSchema,
    externalReferenceId: text,
    engagementId: text,
    status: z.enum(REFERRAL_STATUSES).nullish(),
    substatus: z.enum(REFERRAL_SUBSTATUSES).nullish(),
    statusReason: text,
    qualification: z.enum(REFERRAL_QUALIFICATIONS).nullish(),
    team: list(memberSchema),
    inviteContext: inviteContextSchema.extend({ assistanceRequestCode: z.enum(ASSISTANCE_REQUEST_CODES).nullish() }).nullish(),
    target: list(targetSchema.extend({ type: z.enum(TARGET_TYPES) })),
  })
  .superRefine((body, ctx) => {
    if (body.status != null && body.substatus != null && !isValidStatusPair(body.status, body.substatus)) {
      ctx.addIssue({
        code: 'custom',
        path: ['substatus'],
        message: `substatus "${body.substatus}" is not allowed with status "${body.status}"`,
      });
    }
  });
/** What callers pass to `ReferralsClient.create`. */
export type ReferralCreate = z.input<typeof referralCreateSchema>;
