import type { AuditEntry, AuditRecord } from '../store/types.ts';

/** How many recent entries the CRM's Audit column shows; the full history stays in the store. */
export const AUDIT_COLUMN_ENTRIES = 40;

/** One readable line per audit entry, for the CRM record's Audit column (newest first). */
export function auditLine(entry: AuditEntry & { at?: string }): string {
  const at = (entry.at ?? new Date().toISOString()).replace(/\.\d+Z$/, 'Z');
  const arrow = entry.direction === 'to-crm' ? 'Partner Center → CRM' : entry.direction === 'to-pc' ? 'CRM → Partner Center' : '';
  const field = entry.field ? ` ${entry.field}` : '';
  const value = entry.newValue !== undefined && entry.outcome !== 'failed' ? ` = ${JSON.stringify(entry.newValue)}` : '';
  const message = entry.message ? ` (${entry.message})` : '';
  return `${at} ${entry.outcome}${arrow ? ` ${arrow}` : ''}${field}${value}${message}`.replace(/\s+/g, ' ').trim();
}

/** New entries first, then what the store already holds for the same record. */
export function auditLines(fresh: readonly AuditEntry[], history: readonly AuditRecord[]): string[] {
  return [...fresh.map((e) => auditLine(e)), ...history.map((e) => auditLine(e))].slice(0, AUDIT_COLUMN_ENTRIES);
}
