import type { CrmRecordRef } from './entities.ts';

/** A CRM user on a deal (its owner or a team member), as the partner team's Member needs it. */
export interface DealTeamUser {
  email: string;
  firstName?: string | undefined;
  lastName?: string | undefined;
}

/**
 * An opportunity's people on the partner's side: its owner and team members (Salesforce OpportunityTeamMember;
 * Dynamics owner and access team), matched to CRM users by e-mail. Users are never created.
 */
export interface DealTeamApi {
  /** The owner first, then the team members; users without an e-mail are left out. */
  read(ref: CrmRecordRef): Promise<DealTeamUser[]>;
  /** The active CRM users with these e-mails (case-insensitive); an e-mail without a user is absent from the answer. */
  findUsers(emails: readonly string[]): Promise<DealTeamUser[]>;
  /** Adds the users with these e-mails (all found by `findUsers`) to the opportunity's team; one already on it is a no-op. */
  add(ref: CrmRecordRef, emails: readonly string[]): Promise<void>;
}
