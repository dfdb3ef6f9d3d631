import type { CrmConnector, CrmRecordRef } from '../../crm/connector.ts';
import type { DealTeamUser } from '../../crm/deal-team.ts';
import type { Referral } from '../../partner-center/model.ts';
import type { Link } from '../../store/types.ts';
import { referralTeamEmails } from '../plan/deal-team.ts';

/**
 * A linked opportunity's owner and team members, and the CRM users with the e-mails of the referral's partner team
 * members missing from it (the plan adds those and audits the rest); undefined where the connector has no team API.
 */
export async function readDealTeam(
  connector: Pick<CrmConnector, 'dealTeam'>,
  ref: CrmRecordRef,
  link: Link | null,
  referral: Referral,
): Promise<{ crm: DealTeamUser[]; users: DealTeamUser[] } | undefined> {
  const api = connector.dealTeam;
  if (!api || ref.entity !== 'opportunity' || link === null) return undefined;
  const crm = await api.read(ref);
  const onDeal = new Set(crm.map((u) => u.email.toLowerCase()));
  const missing = referralTeamEmails(referral).filter((email) => !onDeal.has(email));
  return { crm, users: missing.length > 0 ? await api.findUsers(missing) : [] };
}
