import type { Referral } from './referral-model.ts';

/** In-memory referrals, in creation order, indexed by engagement. */
export class ReferralStore {
  private readonly byId = new Map<string, Referral>();
  private readonly byEngagement = new Map<string, Set<string>>();

  get(id: string): Referral | undefined {
    return this.byId.get(id);
  }

  /** Referrals are not case-sensitive ids in the service (GUIDs); clients sometimes uppercase them. */
  find(id: string): Referral | undefined {
    return this.byId.get(id) ?? this.byId.get(id.toLowerCase());
  }

  all(): Referral[] {
    return [...this.byId.values()];
  }

  inEngagement(engagementId: string): Referral[] {
    const ids = this.byEngagement.get(engagementId) ?? new Set<string>();
    return [...ids].flatMap((id) => this.byId.get(id) ?? []);
  }

  save(referral: Referral): void {
    this.byId.set(referral.id, referral);
    let members = this.byEngagement.get(referral.engagementId);
    if (!members) {
      members = new Set();
      this.byEngagement.set(referral.engagementId, members);
    }
    members.add(referral.id);
  }

  clear(): void {
    this.byId.clear();
    this.byEngagement.clear();
  }

  get size(): number {
    return this.byId.size;
  }
}
