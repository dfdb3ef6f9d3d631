import type { Referral } from '../../partner-center/model.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { isMicrosoftReferral, type PartnerOrganization } from '../engagement-sides.ts';
import type { ReferralsPort } from '../ports.ts';

const quoted = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** Partner Center look-ups around one referral: its engagement's other referrals, and a referral by "CRM ID". */
export class EngagementReader {
  constructor(
    private readonly referrals: Pick<ReferralsPort, 'listPage'>,
    private readonly organization: PartnerOrganization,
  ) {}

  /**
   * Microsoft's own referral in a co-sell engagement carries its side of the deal (Microsoft's CRM id and status).
   * Read only when the mapping uses it and the deal is shared: one more Partner Center call for co-sell pairs.
   */
  async microsoftSide(referral: Referral, mapping: EntityMapping): Promise<Referral | null | undefined> {
    return microsoftSideOf(this.referrals, referral, mapping);
  }

  /** The partner's own referrals in the engagement of a referral that is not the partner's. */
  async partnersReferralIds(foreign: Referral): Promise<string[]> {
    const engagementId = foreign.engagementId;
    const partners: string[] = [];
    if (typeof engagementId === 'string' && engagementId !== '') {
      for (const r of await this.engagement(engagementId)) if (r.id !== foreign.id && typeof r.id === 'string' && (await this.organization.isOwn(r))) partners.push(r.id);
    }
    return partners;
  }

  async findReferralByExternalId(crmId: string): Promise<string | null> {
    const page = await this.referrals.listPage({ filter: `externalReferenceId eq ${quoted(crmId)}`, top: 1 });
    const id = page.referrals[0]?.id;
    return typeof id === 'string' ? id : null;
  }

  private engagement(engagementId: string): Promise<Referral[]> {
    return engagementReferrals(this.referrals, engagementId);
  }
}

async function engagementReferrals(referrals: Pick<ReferralsPort, 'listPage'>, engagementId: string): Promise<Referral[]> {
  return (await referrals.listPage({ filter: `engagementId eq ${quoted(engagementId)}` })).referrals;
}

/**
 * Microsoft's own referral in a co-sell engagement carries its side of the deal (Microsoft's CRM id and status).
 * Read only when the mapping uses it and the deal is shared: one more Partner Center call for co-sell pairs. Undefined
 * when the mapping does not use it, null when there is none. Shared by the sync's create and `cosell mapping preview`.
 */
export async function microsoftSideOf(referrals: Pick<ReferralsPort, 'listPage'>, referral: Referral, mapping: EntityMapping): Promise<Referral | null | undefined> {
  if (!mapping.readsMicrosoftReferral) return undefined;
  if (referral.type !== 'Shared' || typeof referral.engagementId !== 'string') return null;
  const engaged = await engagementReferrals(referrals, referral.engagementId);
  // Microsoft's by what identifies Microsoft; another partner's referral (partner-to-partner) is never "Microsoft's side".
  return engaged.find((r) => r.id !== referral.id && isMicrosoftReferral(r)) ?? null;
}
