import { badRequest, ErrorCode } from '../errors.ts';
import type { RecordStore } from '../data/record-store.ts';
import { isGuid, normalizeGuid } from '../data/value-codec.ts';
import { applicationCaller, type Caller } from './users.ts';

/**
 * Web API callers act as the application user; `MSCRMCallerID` (systemuserid) or `CallerObjectId` (Entra object id)
 * impersonate another user ("Impersonate another user using the Web API"), which then shows as `UserId`/`modifiedby`
 * while `InitiatingUserId` stays the caller.
 */
export function resolveCaller(headers: Record<string, string | undefined>, store: RecordStore): Caller {
  const caller = applicationCaller();
  const byId = headers.mscrmcallerid;
  const byObjectId = headers.callerobjectid;
  if (byId) {
    const id = normalizeGuid(byId);
    if (!isGuid(id) || !store.get('systemuser', id)) {
      throw badRequest(`The user with SystemUserId=${byId} given in MSCRMCallerID does not exist or is disabled.`, ErrorCode.PrivilegeDenied);
    }
    return { userId: id, initiatingUserId: caller.initiatingUserId };
  }
  if (byObjectId) {
    const wanted = normalizeGuid(byObjectId);
    const user = store.all('systemuser').find((row) => row.values.azureactivedirectoryobjectid === wanted);
    if (!user) throw badRequest(`No user has the Entra object id ${byObjectId} given in CallerObjectId.`, ErrorCode.PrivilegeDenied);
    return { userId: user.id, initiatingUserId: caller.initiatingUserId };
  }
  return caller;
}
