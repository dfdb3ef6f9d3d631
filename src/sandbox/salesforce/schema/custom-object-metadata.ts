import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest, ErrorCode } from '../errors.ts';
import { auditFields, field, type FieldDefinition } from './field-model.ts';
import { SObjectType, type ObjectCapabilities } from './object-model.ts';

/**
 * CustomObject metadata as the Tooling API takes it (Tooling API "CustomObject", Metadata API "CustomObject"): label,
 * pluralLabel, the Name field (`nameField`: Text, or AutoNumber with a displayFormat), deploymentStatus and sharingModel.
 * Members the sandbox does not model (enableActivities, enableReports, …) are accepted and ignored.
 */
const customObjectMetadataSchema = z
  .object({
    label: z.string().min(1).max(40),
    pluralLabel: z.string().min(1).max(40),
    nameField: z.object({ type: z.enum(['Text', 'AutoNumber']), label: z.string().min(1).max(40), displayFormat: z.string().min(1).optional() }).loose(),
    deploymentStatus: z.enum(['Deployed', 'InDevelopment']),
    sharingModel: z.enum(['ReadWrite', 'Read', 'Private', 'ControlledByParent', 'FullAccess']),
    description: z.string().optional(),
  })
  .loose();

const customObjectRequestSchema = z.object({ FullName: z.string().min(1), Metadata: customObjectMetadataSchema }).loose();

export type CustomObjectMetadata = z.output<typeof customObjectMetadataSchema>;

export interface CustomObjectRequest {
  /** `Microsoft_Solution__c` */
  objectName: string;
  /** `Microsoft_Solution` */
  developerName: string;
  metadata: CustomObjectMetadata;
}

const DEVELOPER_NAME = /^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$/;

export function parseCustomObjectRequest(body: unknown): CustomObjectRequest {
  const parsed = parseWithProblems(customObjectRequestSchema, body ?? {});
  if (!parsed.ok) throw badRequest(ErrorCode.InvalidInput, `Invalid CustomObject: ${summarizeProblems(parsed.problems)}`);
  const { FullName, Metadata } = parsed.value;
  const match = /^([A-Za-z0-9_]+)__c$/.exec(FullName);
  const developerName = match?.[1] ?? '';
  if (!match || !DEVELOPER_NAME.test(developerName) || developerName.endsWith('_') || developerName.length > 40) {
    throw badRequest(
      ErrorCode.FieldIntegrityException,
      `FullName ${FullName}: the Object Name can only contain underscores and alphanumeric characters, must begin with a letter, not end with an underscore, not contain two consecutive underscores, and end in __c.`,
      ['FullName'],
    );
  }
  if (Metadata.nameField.type === 'AutoNumber') {
    if (Metadata.nameField.displayFormat === undefined) throw badRequest(ErrorCode.FieldIntegrityException, 'Must specify displayFormat for an AutoNumber name field', ['nameField']);
    throw badRequest(ErrorCode.InvalidInput, 'The Salesforce sandbox does not model AutoNumber name fields; use a Text name field', ['nameField']);
  }
  return { objectName: `${developerName}__c`, developerName, metadata: Metadata };
}

const CUSTOM_OBJECT: ObjectCapabilities = { createable: true, updateable: true, deletable: true, queryable: true, changeEvents: false };

/** The describe-level object a CustomObject becomes: Id, Name, OwnerId and the audit fields. */
export function objectFromMetadata(request: CustomObjectRequest, keyPrefix: string): SObjectType {
  const { metadata } = request;
  const fields: FieldDefinition[] = [
    field.id(),
    field.reference('OwnerId', 'Owner ID', ['User'], 'Owner', { nillable: false, defaultedOnCreate: true }),
    field.text('Name', metadata.nameField.label, 80, { nillable: false }),
    ...auditFields(),
  ];
  return new SObjectType(request.objectName, metadata.label, metadata.pluralLabel, keyPrefix, CUSTOM_OBJECT, fields);
}
