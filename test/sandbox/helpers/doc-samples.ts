/** The create request and response of Partner Center's "Create a referral" docs, copied verbatim. */
export const DOC_CREATE_REQUEST = {
  name: 'Test Cosell Invite_20',
  status: 'New',
  substatus: 'Pending',
  statusReason: 'Customer engagement was a success!',
  qualification: 'SalesQualified',
  type: 'Shared',
  target: [{ type: 'SolutionProfile', id: 'SOL-34104-EBB' }],
  customerProfile: {
    name: 'Contoso Customer Inc',
    address: { addressLine1: 'One Microsoft Way', addressLine2: '34', city: 'Redmond', state: 'WA', postalCode: '98052', country: 'US' },
    size: '10to50employees',
    team: [
      { contactPreference: { locale: 'en-us', disableNotifications: false }, firstName: 'Sue', lastName: 'Smith', phoneNumber: '1234567890', email: 'sue.smith@contoso.com' },
      { contactPreference: { locale: 'en-us', disableNotifications: false }, firstName: 'Joe', lastName: 'Hansen', phoneNumber: '4035698759', email: 'joe.hansen@contoso.com' },
    ],
    ids: [],
  },
  consent: { consentToToShareInfoWithOthers: true, consentToContact: true },
  details: {
    notes: 'Customer is looking to leverage Dynamics 365 to manage their supply chain. There is also a need to leverage a set of custom apps to enable their business processes.',
    dealValue: 50000,
    currency: 'USD',
    closingDateTime: '2018-11-14T00:00:00Z',
    requirements: {
      industries: [{ id: 'Manufacturing' }],
      products: [{ id: 'Dynamics365Enterprise' }],
      services: [{ id: 'DeploymentOrMigration' }],
      solutions: [{ name: 'Dynamics 365 for Field Service', type: 'Category', id: 'Dynamics365forFieldService' }],
    },
  },
  team: [
    { contactPreference: { locale: 'en-us', disableNotifications: false }, firstName: 'John', lastName: 'Doe', phoneNumber: '1231231234', email: 'john.doe@microsoft.com' },
  ],
  inviteContext: {
    notes: 'Hi ABC Partner, hoping you can help this customer. Thanks, John @ Microsoft',
    invitedBy: { organizationId: 'msft' },
  },
};

/** Top-level keys of the documented create response, in order. */
export const DOC_CREATE_RESPONSE_KEYS = [
  'id',
  'engagementId',
  'organizationId',
  'organizationName',
  'name',
  'externalReferenceId',
  'createdDateTime',
  'updatedDateTime',
  'expirationDateTime',
  'status',
  'substatus',
  'statusReason',
  'qualification',
  'type',
  'eTag',
  'target',
  'customerProfile',
  'consent',
  'details',
  'team',
  'inviteContext',
  'links',
];

export const DOC_ETAG_FORMAT = /^"[0-9a-f]{8}-0000-0000-0000-[0-9a-f]{12}"$/;
export const DOC_TIMESTAMP_FORMAT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;

export function clone<T>(value: T): T {
  return structuredClone(value);
}
