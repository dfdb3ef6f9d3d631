import { badRequest, DataverseError, ErrorCode } from '../errors.ts';
import type { RecordStore } from '../data/record-store.ts';
import { isGuid, normalizeGuid } from '../data/value-codec.ts';
import type { TokenIdentity } from './tokens.ts';
import type { Caller } from './users.ts';

/**
 * Dataverse refuses a token whose app registration has no application user, or whose user has no systemuser, with
 * 403 / 0x80072560 "The user is not a member of the organization." ("Troubleshoot live synchronization issues"): Entra
 * ID issued the token without knowing anything about the environment.
 */
export function notMemberOfOrganization(): DataverseError {
  return new DataverseError(403, ErrorCode.NotMemberOfOrganization, 'The user is not a member of the organization.');
}

const sameId = (value: unknown, wanted: string): boolean => typeof value === 'string' && value.toLowerCase() === wanted.toLowerCase();

/**
 * The systemuser a token acts as: the application user whose `applicationid` is the token's client id (S2S, "Use
 * OAuth authentication with Microsoft Dataverse"), or the user whose `azureactivedirectoryobjectid` is the signed-in
 * user's object id (delegated). A disabled user counts as absent.
 */
export function principalOf(identity: TokenIdentity, store: RecordStore): string {
  const users = store.all('systemuser').filter((row) => row.values.isdisabled !== true);
  const user =
    identity.kind === 'application'
      ? users.find((row) => sameId(row.values.applicationid, identity.clientId))
      : users.find((row) => sameId(row.values.azureactivedirectoryobjectid, identity.objectId));
  if (!user) throw notMemberOfOrganization();
  return user.id;
}

/**
 * A Web API call acts as the token's own user (`principalId`); `MSCRMCallerID` (systemuserid) or `CallerObjectId`
 * (Entra object id) impersonate another user ("Impersonate another user using the Web API"), who then shows as
 * `UserId`/`modifiedby` while `InitiatingUserId` (and `modifiedonbehalfby`) stays the caller.
 */
export function resolveCaller(principalId: string, headers: Record<string, string | undefined>, store: RecordStore): Caller {
  const byId = headers.mscrmcallerid;
  const byObjectId = headers.callerobjectid;
  if (byId) {
    const id = normalizeGuid(byId);
    if (!isGuid(id) || !store.get('systemuser', id)) {
      throw badRequest(`The user with SystemUserId=${byId} given in MSCRMCallerID does not exist or is disabled.`, ErrorCode.PrivilegeDenied);
    }
    return { userId: id, initiatingUserId: principalId };
  }
  if (byObjectId) {
    const wanted = normalizeGuid(byObjectId);
    const user = store.all('systemuser').find((row) => row.values.azureactivedirectoryobjectid === wanted);
    if (!user) throw badRequest(`No user has the Entra object id ${byObjectId} given in CallerObjectId.`, ErrorCode.PrivilegeDenied);
    return { userId: user.id, initiatingUserId: principalId };
  }
  return { userId: principalId, initiatingUserId: principalId };
}
