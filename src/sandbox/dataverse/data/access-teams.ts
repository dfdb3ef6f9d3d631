import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest, DataverseError, ErrorCode } from '../errors.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import type { Associations } from './associations.ts';
import { isEntityReference, type StoredRecord } from './record.ts';
import type { RecordService, WriteContext } from './record-service.ts';
import type { RecordStore } from './record-store.ts';
import { isGuid, normalizeGuid } from './value-codec.ts';

const QUALIFIED_PREFIX = 'Microsoft.Dynamics.CRM.';

/**
 * The parameters of AddUserToRecordTeam / RemoveUserFromRecordTeam (Web API action reference): `Record` is a
 * crmbaseentity (its `@odata.type` names the table, its primary key the row) and `TeamTemplate` a teamtemplate.
 */
const recordTeamSchema = z
  .object({
    Record: z.looseObject({ '@odata.type': z.string().min(1) }),
    TeamTemplate: z.looseObject({ teamtemplateid: z.string().min(1) }),
  })
  .loose();

export interface RecordTeamChange {
  accessTeamId: string;
}

/**
 * Record-level access teams ("About collaborating with team templates"; "AddUserToRecordTeam Action"): the first user
 * added to a record through a template creates the record's access team (teamtype 1 Access, regardingobjectid the
 * record, teamtemplateid the template); members are the team's `teammembership_association` rows.
 */
export class AccessTeams {
  constructor(
    private readonly registry: MetadataRegistry,
    private readonly store: RecordStore,
    private readonly records: RecordService,
    private readonly associations: Associations,
  ) {}

  add(user: StoredRecord, body: unknown, context: WriteContext): RecordTeamChange {
    const { record, template, table } = this.parse(body);
    const team = this.teamOf(record, template) ?? this.createTeam(record, template, table, context);
    const navigation = this.membership();
    // Adding someone who is already a member is a no-op (UNCONFIRMED; the tolerant reading of "adds a user").
    if (!this.associations.related(navigation, team).some((member) => member.id === user.id)) this.associations.associate(navigation, team, user);
    this.announce('AddUserToRecordTeam', user, { record, template, table }, context);
    return { accessTeamId: team.id };
  }

  remove(user: StoredRecord, body: unknown, context: WriteContext): RecordTeamChange {
    const { record, template, table } = this.parse(body);
    const team = this.teamOf(record, template);
    if (!team) {
      throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `The record ${record.id} has no access team for team template ${template.id}.`);
    }
    // Removing a user who is not a member is a no-op (UNCONFIRMED; tolerant).
    if (this.associations.related(this.membership(), team).some((member) => member.id === user.id)) this.associations.disassociate(this.membership(), team, user.id);
    this.announce('RemoveUserFromRecordTeam', user, { record, template, table }, context);
    return { accessTeamId: team.id };
  }

  /**
   * The message's event for webhook steps registered on it (systemuser; `Record`, `SystemUserId` and `TeamTemplateId`
   * as its InputParameters, as the AddUserToRecordTeamRequest names them). Raised like any other operation's.
   */
  private announce(message: 'AddUserToRecordTeam' | 'RemoveUserFromRecordTeam', user: StoredRecord, change: { record: StoredRecord; template: StoredRecord; table: string }, context: WriteContext): void {
    context.events.add({
      message,
      entity: 'systemuser',
      id: user.id,
      target: {},
      sentAttributes: [],
      extraInputs: [
        { key: 'Record', value: { kind: 'reference', entity: change.table, id: change.record.id } },
        { key: 'SystemUserId', value: { kind: 'guid', value: user.id } },
        { key: 'TeamTemplateId', value: { kind: 'guid', value: change.template.id } },
      ],
      caller: context.caller,
      correlationId: context.correlationId,
      occurredAt: new Date(),
      ...(context.tag !== undefined ? { tag: context.tag } : {}),
    });
  }

  private membership() {
    const navigation = this.registry.collectionNavigation(this.registry.requireEntity('team'), 'teammembership_association');
    if (!navigation) throw new Error('teammembership_association is not registered');
    return navigation;
  }

  private parse(body: unknown): { record: StoredRecord; template: StoredRecord; table: string } {
    const parsed = parseWithProblems(recordTeamSchema, body ?? {});
    if (!parsed.ok) throw badRequest(`Invalid record team request: ${summarizeProblems(parsed.problems)}`);
    const type = parsed.value.Record['@odata.type'].replace(/^#/, '');
    const table = type.startsWith(QUALIFIED_PREFIX) ? type.slice(QUALIFIED_PREFIX.length) : type;
    const entity = this.registry.entity(table);
    if (!entity) throw badRequest(`Record: '${type}' is not a table of this org.`);
    const rawId = parsed.value.Record[entity.primaryIdAttribute];
    const id = typeof rawId === 'string' ? normalizeGuid(rawId) : '';
    if (!isGuid(id)) throw badRequest(`Record: set '${entity.primaryIdAttribute}' to the row's id.`);
    const record = this.store.get(entity.logicalName, id);
    if (!record) throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `${entity.logicalName} With Id = ${id} Does Not Exist`);
    const templateId = normalizeGuid(parsed.value.TeamTemplate.teamtemplateid);
    const template = isGuid(templateId) ? this.store.get('teamtemplate', templateId) : undefined;
    if (!template) throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `teamtemplate With Id = ${templateId} Does Not Exist`);
    if (template.values.objecttypecode !== entity.objectTypeCode) {
      // The template is for another table; the platform refuses it (message UNCONFIRMED).
      throw badRequest(`The team template ${template.id} is for object type ${String(template.values.objecttypecode)}, not ${entity.logicalName} (${entity.objectTypeCode}).`, ErrorCode.InvalidArgument);
    }
    return { record, template, table: entity.logicalName };
  }

  private teamOf(record: StoredRecord, template: StoredRecord): StoredRecord | undefined {
    return this.store.all('team').find((team) => {
      const regarding = team.values.regardingobjectid;
      const teamTemplate = team.values.teamtemplateid;
      return team.values.teamtype === 1 && isEntityReference(regarding) && regarding.id === record.id && isEntityReference(teamTemplate) && teamTemplate.id === template.id;
    });
  }

  private createTeam(record: StoredRecord, template: StoredRecord, table: string, context: WriteContext): StoredRecord {
    const teams = this.registry.requireEntity('team');
    // Auto-created access teams are named "<record id>+<team template id>" (UNCONFIRMED but what orgs show).
    return this.records.create(
      teams,
      {
        values: {
          name: `${record.id}+${template.id}`,
          teamtype: 1,
          systemmanaged: true,
          regardingobjectid: { id: record.id, logicalName: table },
          teamtemplateid: { id: template.id, logicalName: 'teamtemplate' },
        },
        sent: [],
      },
      { ...context, system: true },
      randomUUID(),
    );
  }
}
