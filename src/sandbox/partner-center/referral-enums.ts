/** Enum values from the Partner Center referral resource docs ("Referral resources"). */
export const REFERRAL_STATUSES = ['None', 'New', 'Active', 'Closed'] as const;
export const REFERRAL_SUBSTATUSES = ['None', 'Pending', 'Received', 'Accepted', 'Won', 'Lost', 'Declined', 'Expired'] as const;
export const REFERRAL_TYPES = ['Shared', 'Independent'] as const;
export const REFERRAL_QUALIFICATIONS = ['None', 'Direct', 'MarketingQualified', 'SalesQualified'] as const;
export const REFERRAL_DIRECTIONS = ['Incoming', 'Outgoing'] as const;
export const ASSISTANCE_REQUEST_CODES = [
  'Unknown',
  'GeneralOrOther',
  'CustomerTechnicalArchitecture',
  'ProofOfConceptOrDemo',
  'QuotesOrLicensing',
  'PostSalesCustomerSuccess',
  'WorkloadSpecificValueProposition',
] as const;
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
export const TARGET_TYPES = ['None', 'BusinessProfileLocation', 'SolutionProfile'] as const;
export const SOLUTION_TYPES = ['None', 'Category', 'Name'] as const;
export const CUSTOMER_PROFILE_ID_TYPES = ['Duns', 'External'] as const;

export type ReferralStatus = (typeof REFERRAL_STATUSES)[number];
export type ReferralSubstatus = (typeof REFERRAL_SUBSTATUSES)[number];
export type ReferralType = (typeof REFERRAL_TYPES)[number];
export type ReferralDirection = (typeof REFERRAL_DIRECTIONS)[number];

/** The organization id Partner Center uses for Microsoft itself in `invitedBy` and on Microsoft's own referrals. */
export const MICROSOFT_ORGANIZATION = { id: 'msft', name: 'Microsoft' } as const;

/**
 * Sales stages. Partner Center's UI stages with their percentages ("Manage co-sell opportunities": "if you're passing
 * these values using the API, this is how Partner Center recognizes the deal sales stages"): Created 10 % (outbound),
 * Accepted 10 % (inbound), Qualified 20 %, Developed 40 %, Proposed 60 %, Negotiated 80 %, Won 100 %. Which spelling the
 * API takes is UNCONFIRMED: the Power Automate connector's enum is Qualify/Develop/Propose/Close and a real response
 * held "100". The sandbox accepts all three forms (case-insensitively) and stores the one sent, so a client may use
 * any of them; anything else is rejected.
 */
export const SALES_STAGES = [
  { stage: 'Created', percent: 10, connector: undefined },
  { stage: 'Accepted', percent: 10, connector: undefined },
  { stage: 'Qualified', percent: 20, connector: 'Qualify' },
  { stage: 'Developed', percent: 40, connector: 'Develop' },
  { stage: 'Proposed', percent: 60, connector: 'Propose' },
  { stage: 'Negotiated', percent: 80, connector: 'Close' },
  { stage: 'Won', percent: 100, connector: undefined },
] as const;

export const SALES_STAGE_VALUES: readonly string[] = [
  ...new Set(SALES_STAGES.flatMap(({ stage, percent, connector }) => [stage, String(percent), ...(connector ? [connector] : [])])),
];
