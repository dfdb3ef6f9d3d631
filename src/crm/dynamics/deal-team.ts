import { z } from 'zod';
import { memoizeSuccess } from '../../util/memoize-success.ts';
import { CrmApiError, type CrmRecordRef } from '../connector.ts';
import type { DealTeamApi, DealTeamUser } from '../deal-team.ts';
import type { DataverseClient } from './dataverse-client.ts';
import { parseResponse, stringLiteral } from './odata.ts';

/*
 * An opportunity's owner (`ownerid`) and access team ("About collaborating with team templates": the record's team of
 * `teamtype` 1 made by AddUserToRecordTeam with the "Opportunity Sales Team" template), matched to `systemusers` by
 * `internalemailaddress`. Members are added with the AddUserToRecordTeam action; users are never created.
 */

const text = z.string().nullish();
const listOf = <S extends z.ZodType>(schema: S) => z.looseObject({ value: z.array(schema) });
const userRow = z.looseObject({ systemuserid: z.string(), internalemailaddress: text, firstname: text, lastname: text });
const ownerRow = z.looseObject({ _ownerid_value: text });
const teamRow = z.looseObject({ teamid: z.string() });
const templateRow = z.looseObject({ teamtemplateid: z.string() });
const USER_SELECT = ['systemuserid', 'internalemailaddress', 'firstname', 'lastname'];

const present = (value: string | null | undefined): value is string => typeof value === 'string' && value.trim() !== '';

function teamUser(row: z.infer<typeof userRow>): DealTeamUser[] {
  return present(row.internalemailaddress) ? [{ email: row.internalemailaddress, firstName: row.firstname ?? undefined, lastName: row.lastname ?? undefined }] : [];
}

export class DynamicsDealTeam implements DealTeamApi {
  /** The opportunity access-team template (`objecttypecode` 3), read once. */
  private readonly template = memoizeSuccess(async (): Promise<string> => {
    const raw = await this.client.run({ method: 'GET', route: 'teamtemplates' }, (signal) =>
      this.client.api.retrieveMultiple({ collection: 'teamtemplates', select: ['teamtemplateid'], filter: 'objecttypecode eq 3', top: 1, signal }),
    );
    const row = parseResponse(listOf(templateRow), raw, 'GET teamtemplates').value[0];
    if (!row) throw new CrmApiError('the org has no access team template for opportunities ("Opportunity Sales Team")', undefined, 'teamTemplateMissing', false);
    return row.teamtemplateid;
  });

  /** `ourUserId`: the application user this connection acts as, who owns the deals it creates and is nobody's teammate. */
  constructor(
    private readonly client: DataverseClient,
    private readonly ourUserId: () => Promise<string>,
  ) {}

  async read(ref: CrmRecordRef): Promise<DealTeamUser[]> {
    const raw = await this.client.run({ method: 'GET', route: 'opportunities({id})' }, (signal) =>
      this.client.api.retrieve({ collection: 'opportunities', key: ref.id, select: ['_ownerid_value'], signal }),
    );
    const ownerId = parseResponse(ownerRow, raw, 'GET opportunities({id})')._ownerid_value?.toLowerCase();
    const ours = await this.ourUserId();
    const rows: Array<z.infer<typeof userRow>> = [];
    if (ownerId && ownerId !== ours) rows.push(...(await this.usersWhere(`systemuserid eq ${ownerId}`)));
    for (const team of await this.accessTeams(ref)) {
      const members = await this.client.run({ method: 'GET', route: 'teams({id})/teammembership_association' }, (signal) =>
        this.client.api.retrieve({ collection: 'teams', key: team, navigationProperty: 'teammembership_association', select: USER_SELECT, signal }),
      );
      rows.push(...parseResponse(listOf(userRow), members, 'GET teams({id})/teammembership_association').value.filter((row) => row.systemuserid.toLowerCase() !== ours));
    }
    const users: DealTeamUser[] = [];
    for (const user of rows.flatMap(teamUser)) if (!users.some((u) => u.email.toLowerCase() === user.email.toLowerCase())) users.push(user);
    return users;
  }

  async findUsers(emails: readonly string[]): Promise<DealTeamUser[]> {
    return (await this.users(emails)).flatMap(teamUser);
  }

  async add(ref: CrmRecordRef, emails: readonly string[]): Promise<void> {
    const template = await this.template();
    for (const user of await this.users(emails)) {
      await this.client.run({ method: 'POST', route: 'systemusers({id})/AddUserToRecordTeam', successStatus: 200, idempotent: true }, (signal) =>
        this.client.api.callAction({
          actionName: 'Microsoft.Dynamics.CRM.AddUserToRecordTeam',
          collection: 'systemusers',
          key: user.systemuserid,
          action: { Record: { '@odata.type': 'Microsoft.Dynamics.CRM.opportunity', opportunityid: ref.id }, TeamTemplate: { '@odata.type': 'Microsoft.Dynamics.CRM.teamtemplate', teamtemplateid: template } },
          signal,
        }),
      );
    }
  }

  private async accessTeams(ref: CrmRecordRef): Promise<string[]> {
    const raw = await this.client.run({ method: 'GET', route: 'teams' }, (signal) =>
      this.client.api.retrieveMultiple({ collection: 'teams', select: ['teamid'], filter: `_regardingobjectid_value eq ${ref.id} and teamtype eq 1`, signal }),
    );
    return parseResponse(listOf(teamRow), raw, 'GET teams').value.map((row) => row.teamid);
  }

  private async users(emails: readonly string[]): Promise<Array<z.infer<typeof userRow>>> {
    const wanted = emails.filter(present);
    if (wanted.length === 0) return [];
    return this.usersWhere(`isdisabled eq false and (${wanted.map((email) => `internalemailaddress eq ${stringLiteral(email.trim())}`).join(' or ')})`);
  }

  private async usersWhere(filter: string): Promise<Array<z.infer<typeof userRow>>> {
    const raw = await this.client.run({ method: 'GET', route: 'systemusers' }, (signal) => this.client.api.retrieveMultiple({ collection: 'systemusers', select: USER_SELECT, filter, signal }));
    return parseResponse(listOf(userRow), raw, 'GET systemusers').value;
  }
}
