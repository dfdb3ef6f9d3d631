import { isCrmEntityName, type CrmEntityName, type CrmKind } from '../../crm/connector.ts';
import { readFile } from 'node:fs/promises';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { formatPath, MappingError, type MappingIssue } from './mapping-error.ts';
import { parsePcPath, type PcPath } from './pc-path.ts';
import { mappingFileSchema, type RawEntity, type RawField, type RawLossReason } from './spec-schema.ts';
import type { EntitySpec, FieldMapping, LossReasonSpec, MappingSpec } from './spec.ts';
import { parseTemplate } from './template-text.ts';

export interface LoadMappingOptions {
  /** Overrides the file's `prefix` (a deployment whose publisher prefix differs from the shipped default). */
  prefix?: string;
}

export async function loadMappingFile(path: string, crmKind: CrmKind, options: LoadMappingOptions = {}): Promise<MappingSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw MappingError.single(path, '', `cannot read the mapping file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseMappingText(text, path, crmKind, options);
}

/** Everything `loadMappingFile` does after reading the file; throws MappingError naming file, path and reason. */
export function parseMappingText(text: string, file: string, crmKind: CrmKind, options: LoadMappingOptions = {}): MappingSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    const where = lineCounter.linePos(syntaxError.pos[0]);
    const message = syntaxError.message.split('\n')[0] ?? syntaxError.code;
    throw MappingError.single(file, `line ${where.line}, column ${where.col}`, `invalid YAML: ${message}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = mappingFileSchema.safeParse(raw);
  if (!parsed.success) throw toMappingError(file, parsed.error, doc, lineCounter);

  const data = parsed.data;
  if (data.crm !== crmKind) {
    throw MappingError.single(file, 'crm', `this mapping is for ${data.crm}, but the service is configured for ${crmKind}`);
  }
  const prefix = options.prefix ?? data.prefix;
  const issues: MappingIssue[] = [];
  const entities: Partial<Record<CrmEntityName, EntitySpec>> = {};
  for (const [name, entity] of Object.entries(data.entities)) {
    // The schema admits only these names; the guard narrows the type.
    if (isCrmEntityName(name)) entities[name] = buildEntity(name, entity, prefix, (path, reason) => issues.push({ file, path, reason }));
  }
  const [first, ...others] = issues;
  if (first) throw new MappingError([first, ...others]);
  return { file, crm: data.crm, prefix, entities };
}

function buildEntity(entity: CrmEntityName, raw: RawEntity, prefix: string | undefined, report: (path: string, reason: string) => void): EntitySpec {
  const at = `entities.${entity}`;
  return {
    entity,
    at,
    pcItems: raw.pcItems === undefined ? undefined : parsePcPath(raw.pcItems),
    fields: raw.fields.map((field, index) => buildField(field, `${at}.fields[${index}]`, prefix, report)),
    ...(raw.lossReason ? { lossReason: buildLossReason(raw.lossReason, `${at}.lossReason`, prefix, report) } : {}),
    ...(raw.propagateContactRemovals ? { propagateContactRemovals: true } : {}),
    // On unless the file turns it off (`syncContactsAndTeam: false`); only opportunities have contacts and a team.
    ...(raw.syncContactsAndTeam !== false && entity === 'opportunity' ? { syncContactsAndTeam: true } : {}),
  };
}

function buildLossReason(raw: RawLossReason, at: string, prefix: string | undefined, report: (path: string, reason: string) => void): LossReasonSpec {
  let crm = raw.crm;
  if (crm.includes('{prefix}')) {
    if (prefix === undefined) report(`${at}.crm`, 'uses {prefix} but the file sets no prefix');
    else crm = crm.replaceAll('{prefix}', prefix);
  }
  return { at, crm, transform: { type: 'valueMap', map: raw.map, ...(raw.default ? { default: raw.default } : {}) } };
}

function buildField(raw: RawField, at: string, prefix: string | undefined, report: (path: string, reason: string) => void): FieldMapping {
  const columns = raw.crm === undefined ? [] : Array.isArray(raw.crm) ? raw.crm : [raw.crm];
  const crm = columns.map((column, index) => {
    if (!column.includes('{prefix}')) return column;
    if (prefix === undefined) {
      report(`${at}.crm${Array.isArray(raw.crm) ? `[${index}]` : ''}`, 'uses {prefix} but the file sets no prefix');
      return column;
    }
    return column.replaceAll('{prefix}', prefix);
  });
  return {
    key: raw.key,
    at,
    pc: pcPathsOf(raw),
    crm,
    direction: raw.direction,
    conflict: raw.conflict,
    transform: raw.transform,
    linkOnly: raw.transform.type === 'constant' && raw.transform.on === 'create',
  };
}

function pcPathsOf(raw: RawField): PcPath[] {
  if (raw.transform.type === 'template') {
    const parsed = parseTemplate(raw.transform.template);
    return parsed.ok ? parsed.paths.map(parsePcPath) : [];
  }
  if (raw.pc === undefined) return [];
  return (Array.isArray(raw.pc) ? raw.pc : [raw.pc]).map(parsePcPath);
}

function toMappingError(file: string, error: z.ZodError, doc: Document, lines: LineCounter): MappingError {
  const issues = error.issues.map((issue): MappingIssue => {
    // Unknown keys are reported by zod on the parent object; naming the key itself is what a reader needs.
    const path = issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? [...issue.path, issue.keys[0]] : issue.path;
    const reason = issue.code === 'unrecognized_keys' ? `unknown setting "${issue.keys.join('", "')}"` : issue.message;
    const where = lineOf(doc, lines, path);
    return { file, path: formatPath(path), reason: where ? `${reason} (line ${where})` : reason };
  });
  const [first, ...others] = issues;
  return new MappingError(first ? [first, ...others] : [{ file, path: '', reason: 'invalid mapping file' }]);
}

/** The line of the nearest YAML node that exists along the path, so an error can be found in a long file. */
function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let length = path.length; length > 0; length -= 1) {
    const node: unknown = doc.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
