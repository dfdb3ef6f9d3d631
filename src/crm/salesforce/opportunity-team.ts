import { z } from 'zod';
import { CrmApiError, type CrmRecordRef } from '../connector.ts';
import type { DealTeamApi, DealTeamUser } from '../deal-team.ts';
import { idWithPrefix, toId18 } from './ids.ts';
import { sobjectFor } from './objects.ts';
import type { SalesforceClient } from './salesforce-client.ts';
import { soqlString } from './soql.ts';

/*
 * An opportunity's owner and Opportunity Team (Salesforce Object Reference "OpportunityTeamMember": OpportunityId +
 * UserId; needs team selling), matched to Users by Email (SOQL compares case-insensitively). Adding a member that is
 * already on the team "updates any modified fields and returns the existing record", so a repeated add is harmless.
 * Without team selling the object does not exist: the owner alone is read and nothing is added.
 */

const text = z.string().nullish();
const userShape = z.looseObject({ Email: text, FirstName: text, LastName: text });
const ownerRow = z.looseObject({ OwnerId: text, Owner: userShape.nullish() });
const memberRow = z.looseObject({ User: userShape.nullish() });
const userRow = z.looseObject({ Id: z.string(), Email: text, FirstName: text, LastName: text });

const present = (value: string | null | undefined): value is string => typeof value === 'string' && value.trim() !== '';

function teamUser(row: z.infer<typeof userShape> | null | undefined): DealTeamUser[] {
  if (!row || !present(row.Email)) return [];
  return [{ email: row.Email, firstName: row.FirstName ?? undefined, lastName: row.LastName ?? undefined }];
}

export class SalesforceOpportunityTeam implements DealTeamApi {
  constructor(private readonly client: SalesforceClient) {}

  async read(ref: CrmRecordRef): Promise<DealTeamUser[]> {
    const id = opportunityId(ref);
    const rows = await this.client.query(`SELECT OwnerId, Owner.Email, Owner.FirstName, Owner.LastName FROM Opportunity WHERE Id = ${soqlString(id)}`, { route: 'Opportunity owner' });
    const owner = rows[0] ? ownerRow.parse(rows[0]) : undefined;
    // A deal this service created is owned by the integration user, who is nobody on the partner's team.
    const ours = owner?.OwnerId ? sameId(owner.OwnerId, (await this.client.identity()).userId) : false;
    const users = owner && !ours ? teamUser(owner.Owner) : [];
    const members = await this.members(id);
    for (const user of members) if (!users.some((u) => u.email.toLowerCase() === user.email.toLowerCase())) users.push(user);
    return users;
  }

  async findUsers(emails: readonly string[]): Promise<DealTeamUser[]> {
    return (await this.users(emails)).flatMap((row) => teamUser(row));
  }

  async add(ref: CrmRecordRef, emails: readonly string[]): Promise<void> {
    const id = opportunityId(ref);
    for (const user of await this.users(emails)) {
      await this.client.send({ method: 'POST', path: '/sobjects/OpportunityTeamMember', route: 'sobjects/OpportunityTeamMember', body: { OpportunityId: id, UserId: user.Id }, idempotent: true });
    }
  }

  private async members(id: string): Promise<DealTeamUser[]> {
    try {
      const rows = await this.client.query(`SELECT User.Email, User.FirstName, User.LastName FROM OpportunityTeamMember WHERE OpportunityId = ${soqlString(id)} ORDER BY CreatedDate ASC`, { route: 'OpportunityTeamMember by opportunity' });
      return rows.flatMap((row) => teamUser(memberRow.parse(row).User));
    } catch (error) {
      // Team selling off: the object does not exist (INVALID_TYPE); the owner alone is the team.
      if (error instanceof CrmApiError && error.code === 'INVALID_TYPE') return [];
      throw error;
    }
  }

  private async users(emails: readonly string[]): Promise<Array<z.infer<typeof userRow>>> {
    const wanted = emails.filter(present);
    if (wanted.length === 0) return [];
    const rows = await this.client.query(`SELECT Id, Email, FirstName, LastName FROM User WHERE IsActive = true AND Email IN (${wanted.map((e) => soqlString(e.trim())).join(', ')})`, { route: 'User by Email' });
    return rows.map((row) => userRow.parse(row));
  }
}

function sameId(a: string, b: string | undefined): boolean {
  return b !== undefined && toId18(a) === toId18(b);
}

function opportunityId(ref: CrmRecordRef): string {
  const id = idWithPrefix(ref.id, sobjectFor('opportunity').keyPrefix);
  if (!id) throw new CrmApiError(`not an opportunity id: ${ref.id}`, undefined, 'invalidRequest', false);
  return id;
}
