import type { AuditRecord, DeadLetter, HeldConflict } from '../../store/types.ts';
import { html, time, type Html } from './html.ts';
import { actionButton, conflictTable, dealCell, deadLetterTable, layout, showValue, type DealNames } from './views.ts';

/*
 * Dead letters and conflicts in one place: what is open (replay one, a selection or all; resolve a conflict) and what
 * happened to the earlier ones (replayed, healed by a later sync, held then released, settled by a policy).
 */

export interface ProblemsData {
  openDeadLetters: DeadLetter[];
  closedDeadLetters: DeadLetter[];
  conflicts: HeldConflict[];
  /** Audit entries with outcome `held` or `conflict`, newest first. */
  conflictHistory: AuditRecord[];
  /** The names of the deals these rows are about. */
  names: DealNames;
}

const feedback = html`<span class="feedback" role="status" aria-live="polite"></span>`;

function conflictHistoryTable(rows: AuditRecord[], open: readonly HeldConflict[], names: DealNames): Html {
  if (rows.length === 0) return html`<p class="muted">None.</p>`;
  const stillHeld = (e: AuditRecord) => open.some((c) => c.connection === e.connection && c.referralId === e.referralId && c.field === e.field);
  return html`<div class="scroll"><table class="conflict-history"><thead><tr><th>When</th><th>Deal</th><th>Field</th><th>What happened</th><th>Now</th></tr></thead><tbody>
${rows.map(
  (e) => html`<tr><td>${time(e.at)}</td>${dealCell(e, names)}<td>${e.field}</td>
<td class="wrap">${e.outcome === 'held' ? 'both sides changed it: held for an operator' : html`both sides changed it: kept ${showValue(e.newValue)} (${e.message?.replace(/^.*; policy /, 'policy ') ?? ''})`}</td>
<td>${e.outcome === 'held' ? (stillHeld(e) ? html`<span class="err">open</span>` : 'released') : 'settled'}</td></tr>`,
)}</tbody></table></div>`;
}

/** The page's live part: replaced by console.js on every poll. */
export function problemsSection(p: ProblemsData): Html {
  const open = p.openDeadLetters;
  return html`<div id="live">
<h2>Open dead letters <span class="muted small">(${open.length})</span></h2>
<p class="muted">Syncs that failed for good. Fix the cause (the record, the mapping, a permission), then replay: the pair is queued again and the dead letter moves to history.</p>
${open.length > 0 ? html`<p class="bulk">${actionButton('Replay selected', '/api/dead-letters/replay', {}, 'Queued again.', 'dead-letter')} ${open.length > 1 ? actionButton(`Replay all ${open.length}`, '/api/dead-letters/replay', { ids: open.map((d) => d.id) }, 'Queued again.') : ''} ${feedback}</p>` : ''}
${deadLetterTable(open, p.names, true)}
<h2>Dead letter history</h2>
<p class="muted">Replayed by an operator, or resolved when a later sync of the pair succeeded.</p>
${deadLetterTable(p.closedDeadLetters, p.names)}
<h2>Held conflicts <span class="muted small">(${p.conflicts.length})</span></h2>
<p class="muted">Fields under a <code>manual</code> policy that both sides changed: take one side (written to both), or they are released once both hold the same value.</p>
${conflictTable(p.conflicts, p.names)}
<h2>Conflict history</h2>
${conflictHistoryTable(p.conflictHistory, p.conflicts, p.names)}
</div>`;
}

export function problemsPage(section: Html): string {
  return layout('Dead letters & conflicts', 'problems', html`<h1>Dead letters &amp; conflicts</h1><div data-poll="/problems/live">${section}</div>`);
}
