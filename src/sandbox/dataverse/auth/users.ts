import { stableGuid } from '../metadata/stable-id.ts';

export interface SandboxUser {
  id: string;
  fullname: string;
  firstname: string;
  lastname: string;
  domainname: string;
  /** Set for application users (S2S): what the product's app registration maps to. */
  applicationid: string | null;
  azureactivedirectoryobjectid: string;
  /** 0 Read-Write (an interactive licensed user), 4 Non-interactive (application user). */
  accessmode: number;
}

function user(key: string, fullname: string, domainname: string, accessmode: number, application: boolean): SandboxUser {
  const [firstname = fullname, ...rest] = fullname.split(' ');
  return {
    id: stableGuid('systemuser', key),
    fullname,
    firstname,
    lastname: rest.join(' '),
    domainname,
    applicationid: application ? stableGuid('application', key) : null,
    azureactivedirectoryobjectid: stableGuid('aad-object', key),
    accessmode,
  };
}

/**
 * The users of the sandbox org. Web API calls act as the application user (what an S2S client credential maps to, "Use
 * OAuth authentication with Microsoft Dataverse"); the control API acts as a seller, so the product can tell its own
 * writes from a person's by `UserId` / `InitiatingUserId` in webhooks and `_modifiedby_value` on rows.
 */
export const SANDBOX_USERS = {
  application: user('cosell-sync-application', '# cosell-sync', 'cosell-sync@sandbox.onmicrosoft.com', 4, true),
  seller: user('seller-alex', 'Alex Seller', 'alex.seller@sandbox.onmicrosoft.com', 0, false),
  secondSeller: user('seller-jordan', 'Jordan Rep', 'jordan.rep@sandbox.onmicrosoft.com', 0, false),
} as const;

export const ALL_SANDBOX_USERS: readonly SandboxUser[] = Object.values(SANDBOX_USERS);

export const SANDBOX_ORGANIZATION = {
  id: stableGuid('organization', 'sandbox'),
  name: 'cosellsandbox',
  businessUnitId: stableGuid('businessunit', 'sandbox'),
} as const;

/** Who performs an operation: `userId` is whom it runs as (impersonation), `initiatingUserId` who actually called. */
export interface Caller {
  userId: string;
  initiatingUserId: string;
}

export const applicationCaller = (): Caller => ({ userId: SANDBOX_USERS.application.id, initiatingUserId: SANDBOX_USERS.application.id });
export const sellerCaller = (userId: string = SANDBOX_USERS.seller.id): Caller => ({ userId, initiatingUserId: userId });
