import type { Referral } from '../partner-center/model.ts';
import type { SyncState } from '../store/types.ts';
import type { ReferralsPort } from './ports.ts';

/** Microsoft's organization id on its referrals and in targets ("create a referral": BusinessProfileLocation `msft`). */
export const MICROSOFT_ORGANIZATION_ID = 'msft';
const ORGANIZATION_KEY = 'partner-center:organization-id';

/**
 * Microsoft's referral in an engagement, recognised by what identifies Microsoft: owned by `msft`, or the connected
 * referral a partner creates for Microsoft (target BusinessProfileLocation `msft`). Never merely "another organization":
 * in a partner-to-partner engagement that would be another partner.
 */
export function isMicrosoftReferral(referral: Referral): boolean {
  if (typeof referral.organizationId === 'string' && referral.organizationId.toLowerCase() === MICROSOFT_ORGANIZATION_ID) return true;
  return (referral.target ?? []).some(
    (t) => t !== null && typeof t === 'object' && t.type === 'BusinessProfileLocation' && typeof t.id === 'string' && t.id.toLowerCase() === MICROSOFT_ORGANIZATION_ID,
  );
}

/**
 * The partner's own organization id, learned once and kept in the store: from the partner's plain referral listing,
 * which holds only its own referrals ("Get a list of referrals" returns the caller's referrals; Microsoft's side of an
 * engagement appears only through the engagement filter of links.relatedReferrals — the tolerant reading). Unknown
 * (null) while the partner has no referral at all.
 */
export class PartnerOrganization {
  /** Undefined until read from the store (on first use: the store's reads are asynchronous). */
  private known: string | null | undefined;

  constructor(
    private readonly referrals: Pick<ReferralsPort, 'listPage'>,
    private readonly state: Pick<SyncState, 'getWatermark' | 'setWatermark'>,
  ) {}

  private async stored(): Promise<string | null> {
    const stored = await this.state.getWatermark(ORGANIZATION_KEY);
    // One learned meanwhile wins over the store's older answer.
    this.known ??= stored;
    return this.known;
  }

  async id(): Promise<string | null> {
    const known = this.known ?? (await this.stored());
    if (known !== null) return known;
    const page = await this.referrals.listPage({ top: 20 });
    const own = page.referrals.find((r) => typeof r.organizationId === 'string' && r.organizationId !== '' && !isMicrosoftReferral(r));
    if (typeof own?.organizationId === 'string') await this.learn(own.organizationId);
    return this.known ?? null;
  }

  /** A referral we created is ours: its organizationId is the partner's. */
  async learn(organizationId: string | null | undefined): Promise<void> {
    if (typeof organizationId !== 'string' || organizationId === '' || organizationId.toLowerCase() === MICROSOFT_ORGANIZATION_ID) return;
    if ((this.known ?? (await this.stored())) !== null) return;
    this.known = organizationId;
    await this.state.setWatermark(ORGANIZATION_KEY, organizationId);
  }

  /** Whether a referral is the partner's own deal: not Microsoft's side, and owned by the partner (when known). */
  async isOwn(referral: Referral): Promise<boolean> {
    if (isMicrosoftReferral(referral)) return false;
    const own = await this.id();
    return own === null || typeof referral.organizationId !== 'string' || referral.organizationId === own;
  }
}
