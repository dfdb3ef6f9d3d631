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

/** An application user for an app registration (client id) a test or the CLI configures. */
export function applicationUser(clientId: string, fullname: string): SandboxUser {
  const key = `application:${clientId.toLowerCase()}`;
  return { ...user(key, fullname, `${key.replace(/[^a-z0-9]/g, '-')}@sandbox.onmicrosoft.com`, 4, true), applicationid: clientId.toLowerCase() };
}

/** A licensed (interactive) user who signs in with `upn`, e.g. another seller. */
export function sellerUser(upn: string, fullname: string): SandboxUser {
  return user(`seller:${upn.toLowerCase()}`, fullname, upn.toLowerCase(), 0, false);
}

/**
 * The users of the sandbox org. Each app registration (client id = `applicationid`) maps to its own application user,
 * as an S2S client credential does ("Use OAuth authentication with Microsoft Dataverse"); sellers sign in as themselves
 * (delegated tokens) or act through the control API. `application` is the product's own; `otherIntegration` another
 * integration writing to the same org (a marketing tool, say), so the product can tell its own writes from anyone
 * else's by `UserId` / `InitiatingUserId` in webhooks and `_modifiedby_value` on rows.
 */
export const SANDBOX_USERS = {
  application: user('cosell-sync-application', '# cosell-sync', 'cosell-sync@sandbox.onmicrosoft.com', 4, true),
  otherIntegration: user('other-integration-application', '# Marketing integration', 'marketing-integration@sandbox.onmicrosoft.com', 4, true),
  seller: user('seller-alex', 'Alex Seller', 'alex.seller@sandbox.onmicrosoft.com', 0, false),
  secondSeller: user('seller-jordan', 'Jordan Rep', 'jordan.rep@sandbox.onmicrosoft.com', 0, false),
} as const;

/** The app registration (client id) the product's own sandbox connection stands for. */
export const SANDBOX_CLIENT_ID = stableGuid('application', 'cosell-sync-application');

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

export const sellerCaller = (userId: string = SANDBOX_USERS.seller.id): Caller => ({ userId, initiatingUserId: userId });
