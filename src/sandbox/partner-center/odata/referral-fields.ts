import { bool, collection, dateTime, enumeration, num, object, str, type ObjectType } from './field-types.ts';

const member = object({
  firstName: str,
  lastName: str,
  phoneNumber: str,
  email: str,
  title: str,
  contactPreference: object({ locale: str, disableNotifications: bool }),
});

const tag = object({ id: str });

/**
 * The properties `$filter`, `$orderby` and `$select` may name. A property not listed here is a 400, as in any OData
 * service, so a typo in a client's filter shows up in the sandbox instead of silently matching nothing.
 */
export const REFERRAL_TYPE: ObjectType = object({
  id: str,
  engagementId: str,
  organizationId: str,
  organizationName: str,
  name: str,
  externalReferenceId: str,
  createdDateTime: dateTime,
  updatedDateTime: dateTime,
  expirationDateTime: dateTime,
  acceptedDateTime: dateTime,
  closedDateTime: dateTime,
  status: enumeration,
  substatus: enumeration,
  statusReason: str,
  qualification: enumeration,
  type: enumeration,
  direction: enumeration,
  eTag: str,
  salesStage: str,
  referralSource: str,
  callToAction: str,
  campaignId: str,
  favorite: bool,
  mpnId: str,
  referralProgram: str,
  quality: str,
  isSpam: bool,
  dealSensitivity: str,
  createdVia: str,
  registrationStatus: str,
  lastModifiedVia: str,
  lastRunId: str,
  tags: collection(str),
  target: collection(object({ id: str, type: enumeration })),
  team: collection(member),
  customerProfile: object({
    name: str,
    size: enumeration,
    isMatchingComplete: bool,
    address: object({
      addressLine1: str,
      addressLine2: str,
      city: str,
      state: str,
      postalCode: str,
      country: str,
      region: str,
    }),
    team: collection(member),
    ids: collection(object({ profileType: enumeration, id: str })),
  }),
  consent: object({
    consentToToShareInfoWithOthers: bool,
    consentToContact: bool,
    consentToShareReferralWithMicrosoftSellers: bool,
  }),
  details: object({
    notes: str,
    dealValue: num,
    currency: str,
    closingDateTime: dateTime,
    customerRequestedContact: bool,
    customerAction: str,
    incentiveLevel: str,
    requirements: object({
      industries: collection(tag),
      products: collection(tag),
      services: collection(tag),
      solutions: collection(object({ id: str, name: str, type: enumeration })),
    }),
  }),
  inviteContext: object({
    notes: str,
    assistanceRequestCode: enumeration,
    invitedMpnId: str,
    invitedBy: object({ organizationId: str, organizationName: str }),
  }),
  trackingInfo: object({
    microsoftMsxId: str,
    microsoftUSFedOpportunityId: str,
    microsoftUSFedLeadId: str,
    migratedPSCDealId: str,
    migratedPSCPartnerDealId: str,
  }),
});

/** `$select` may also name the computed `links`. */
export const SELECTABLE_EXTRA = ['links'] as const;
