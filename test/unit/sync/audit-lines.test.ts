import { describe, expect, it } from 'vitest';
import { AUDIT_COLUMN_ENTRIES, auditLine, auditLines } from '../../../src/sync/audit-lines.ts';
import type { AuditEntry, AuditRecord } from '../../../src/store/types.ts';

const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  connection: 'dynamics',
  referralId: 'r1',
  crmEntity: 'opportunity',
  crmId: 'o1',
  direction: 'to-crm',
  field: 'dealValue',
  oldValue: 1,
  newValue: 2,
  cause: 'event',
  outcome: 'written',
  message: null,
  ...overrides,
});

describe('audit lines for the CRM Audit column', () => {
  it('reads as one sentence per change', () => {
    expect(auditLine({ ...entry(), at: '2026-11-21T05:00:00.123Z' })).toBe('2026-11-21T05:00:00Z written Partner Center → CRM dealValue = 2');
    expect(auditLine({ ...entry({ direction: 'to-pc', outcome: 'failed', field: null, message: 'not sent: no contact' }), at: '2026-11-21T05:00:00Z' })).toBe(
      '2026-11-21T05:00:00Z failed CRM → Partner Center (not sent: no contact)',
    );
  });

  it('puts new entries first and keeps a bounded window of history', () => {
    const history: AuditRecord[] = Array.from({ length: 100 }, (_, i) => ({ ...entry({ newValue: i }), id: i, at: '2026-11-20T00:00:00Z' }));
    const lines = auditLines([entry({ newValue: 'new' })], history);
    expect(lines).toHaveLength(AUDIT_COLUMN_ENTRIES);
    expect(lines[0]).toContain('"new"');
    expect(lines[1]).toContain('= 0');
  });
});
