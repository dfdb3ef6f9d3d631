import type { AuditEntry, PauseHolder } from './types.ts';

/* How a pause and a resume read in the audit, whichever store records them (one wording for both drivers). */

export const pauseNote = (link: { connection: string; referralId: string; crmEntity: string; crmId: string }, holder: PauseHolder, message: string): AuditEntry => ({
  connection: link.connection,
  referralId: link.referralId,
  crmEntity: holder.by === 'seller' ? link.crmEntity : null,
  crmId: holder.by === 'seller' ? link.crmId : null,
  direction: 'none',
  field: null,
  oldValue: undefined,
  newValue: undefined,
  cause: holder.by === 'seller' ? 'event' : 'manual',
  outcome: 'skipped',
  message,
});

export const OPERATOR: PauseHolder = { by: 'operator' };

export function pauseMessage(holder: PauseHolder): string {
  return holder.by === 'operator'
    ? 'sync paused by an operator: neither side is written until it is resumed'
    : `sync paused: Sync with Partner Center set to No in ${holder.crm}: neither side is written until it is set back to Yes`;
}

export function resumeMessage(holder: PauseHolder, stillHeldBy: readonly string[]): string {
  const who = holder.by === 'operator' ? 'sync resumed by an operator' : `Sync with Partner Center set to Yes in ${holder.crm}`;
  if (stillHeldBy.includes('operator')) return `${who}: still paused by an operator until resumed in the console`;
  if (stillHeldBy.includes('seller')) return `${who}: still paused because Sync with Partner Center is No in the CRM`;
  return `${who}: both sides are merged with every change made while paused`;
}
