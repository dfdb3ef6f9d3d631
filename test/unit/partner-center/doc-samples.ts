import type { ReferralCreate } from '../../../src/partner-center/model.ts';

/* Samples copied verbatim from Microsoft's Partner Center docs "Create a referral" and "Update a referral". */

export const DOC_CREATE_REQUEST: ReferralCreate = {
  "name": "Test Cosell Invite_20",
  "status": "New",
  "substatus": "Pending",
  "statusReason": "Customer engagement was a success!",
  "qualification": "SalesQualified",
  "type": "Shared",
  "target": [
    {
      "type": "SolutionProfile",
      "id": "SOL-34104-EBB"
    }
  ],
  "customerProfile": {
    "name": "Contoso Customer Inc",
    "address": {
      "addressLine1": "One Microsoft Way",
      "addressLine2": "34",
      "city": "Redmond",
      "state": "WA",
      "postalCode": "98052",
      "country": "US"
    },
    "size": "10to50employees",
    "team": [
      {
        "contactPreference": {
          "locale": "en-us",
          "disableNotifications": false
        },
        "firstName": "Sue",
        "lastName": "Smith",
        "phoneNumber": "1234567890",
        "email": "sue.smith@contoso.com"
      },
      {
        "contactPreference": {
          "locale": "en-us",
          "disableNotifications": false
        },
        "firstName": "Joe",
        "lastName": "Hansen",
        "phoneNumber": "4035698759",
        "email": "joe.hansen@contoso.com"
      }
    ],
    "ids": []
  },
  "consent": {
    "consentToToShareInfoWithOthers": true,
    "consentToContact": true
  },
  "details": {
    "notes": "Customer is looking to leverage Dynamics 365 to manage their supply chain. There is also a need to leverage a set of custom apps to enable their business processes.",
    "dealValue": 50000,
    "currency": "USD",
    "closingDateTime": "2018-11-14T00:00:00Z",
    "requirements": {
      "industries": [
        {
          "id": "Manufacturing"
        }
      ],
      "products": [
        {
          "id": "Dynamics365Enterprise"
        }
      ],
      "services": [
        {
          "id": "DeploymentOrMigration"
        }
      ],
      "solutions": [
        {
          "name": "Dynamics 365 for Field Service",
          "type": "Category",
          "id": "Dynamics365forFieldService"
        }
      ]
    }
  },
  "team": [
    {
      "contactPreference": {
        "locale": "en-us",
        "disableNotifications": false
      },
      "firstName": "John",
      "lastName": "Doe",
      "phoneNumber": "1231231234",
      "email": "john.doe@microsoft.com"
    }
  ],
  "inviteContext": {
    "notes": "Hi ABC Partner, hoping you can help this customer. Thanks, John @ Microsoft",
    "invitedBy": {
      "organizationId": "msft"
    }
  }
};

/** The docs' create response text, kept as a string so tests parse exactly what the docs show. */
export const DOC_CREATE_RESPONSE_JSON = String.raw`{
    "id": "4111fffc-f9ee-4d53-bba6-569135228642",
    "engagementId": "37ef26aa-1d15-4533-9f93-a69bd33ab1e5",
    "organizationId": "7d23e5ca-19dc-4eaa-aac8-5e6b559f0d1d",
    "organizationName": "Contoso Company",
    "name": "Test Cosell Invite_20",
    "externalReferenceId": null,
    "createdDateTime": "2019-02-23T02:05:23.2931817Z",
    "updatedDateTime": "2019-02-23T02:05:23.2931817Z",
    "expirationDateTime": null,
    "status": "Active",
    "substatus": "Accepted",
    "statusReason": "Customer engagement was a success!",
    "qualification": "SalesQualified",
    "type": "Shared",
    "eTag": "\"00006d10-0000-0000-0000-5c70aa630000\"",
    "target": [
        {
            "type": "SolutionProfile",
            "id": "SOL-34104-EBB"
        }
    ],
    "customerProfile": {
        "name": "Contoso Customer Inc",
        "address": {
            "addressLine1": "One Microsoft Way",
            "addressLine2": "34",
            "city": "Redmond",
            "state": "WA",
            "postalCode": "98052",
            "country": "US"
        },
        "size": "10to50employees",
        "team": [
            {
                "contactPreference": {
                    "locale": "en-us",
                    "disableNotifications": false
                },
                "firstName": "Sue",
                "lastName": "Smith",
                "phoneNumber": "1234567890",
                "email": "sue.smith@contoso.com"
            },
            {
                "contactPreference": {
                    "locale": "en-us",
                    "disableNotifications": false
                },
                "firstName": "Joe",
                "lastName": "Hansen",
                "phoneNumber": "4035698759",
                "email": "joe.hansen@contoso.com"
            }
        ],
        "ids": []
    },
    "consent": {
        "consentToToShareInfoWithOthers": true,
        "consentToContact": true
    },
    "details": {
        "notes": "Customer is looking to leverage Dynamics 365 to manage their supply chain. There is also a need to leverage a set of custom apps to enable their business processes.",
        "dealValue": 50000,
        "currency": "USD",
        "requirements": {
            "industries": [
                {
                    "id": "Manufacturing"
                }
            ],
            "products": [
                {
                    "id": "Dynamics365Enterprise"
                }
            ],
            "services": [
                {
                    "id": "DeploymentOrMigration"
                }
            ],
            "solutions": [
                {
                    "name": "Dynamics 365 for Field Service",
                    "type": "Category",
                    "id": "Dynamics365forFieldService"
                }
            ]
        }
    },
    "team": [
        {
            "contactPreference": {
                "locale": "en-us",
                "disableNotifications": false
            },
            "firstName": "John",
            "lastName": "Doe",
            "phoneNumber": "1231231234",
            "email": "john.doe@microsoft.com"
        }
    ],
    "inviteContext": {
        "notes": "Hi ABC Partner, hoping you can help this customer. Thanks, John @ Microsoft",
        "invitedBy": {
            "organizationId": "msft"
        }
    },
    "links": {
        "relatedReferrals": {
            "uri": "https://api.partner.microsoft.com/v1.0/engagments/referrals?$filter=engagementId eq '37ef26aa-1d15-4533-9f93-a69bd33ab1e5'",
            "method": "GET"
        },
        "self": {
            "uri": "https://api.partner.microsoft.com/v1.0/engagments/referrals/4111fffc-f9ee-4d53-bba6-569135228642",
            "method": "GET"
        }
    }
}`;

export const DOC_PATCH_BODY = [
  {
    "op": "replace",
    "path": "/details/dealValue",
    "value": "10000"
  },
  {
    "op": "add",
    "path": "/team/-",
    "value": {
      "email": "jane.doe@contoso.com",
      "firstName": "Jane",
      "lastName": "Doe",
      "phoneNumber": "0000000001"
    }
  }
];
