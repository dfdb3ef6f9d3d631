import { dealKey, type AuditRecord, type DeadLetter, type DealState, type DealSummary, type HeldConflict } from '../../store/types.ts';
import type { CanonicalValue } from '../../canonical-value.ts';
import { DEAL_STATES } from '../../store/types.ts';
import type { ConnectionCard, DealsResponse, OverviewResponse, PairResponse } from '../admin-api.ts';
import { html, time, type Html } from './html.ts';

/* The console's pages. Plain server-rendered HTML; /console.js adds polling, local times and the action buttons. */

const STATE_LABELS: Record<DealState, { symbol: string; label: string }> = {
  ok: { symbol: '✔', label: 'synced' },
  error: { symbol: '✖', label: 'needs attention' },
  conflict: { symbol: '⇄', label: 'conflict' },
  'dead-letter': { symbol: '☠', label: 'dead letter' },
  paused: { symbol: '‖', label: 'paused' },
  retrying: { symbol: '↻', label: 'retrying' },
  unlinked: { symbol: '○', label: 'not linked' },
};

export function stateBadge(state: DealState): Html {
  const s = STATE_LABELS[state];
  return html`<span class="badge state-${state}"><span aria-hidden="true">${s.symbol}</span> ${s.label}</span>`;
}

export function layout(title: string, current: 'overview' | 'deals' | 'problems' | 'mapping', body: Html): string {
  const nav = (href: string, label: string, key: typeof current) =>
    html`<a href="${href}"${key === current ? html` aria-current="page"` : ''}>${label}</a>`;
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><title>${title} · cosell-sync</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/console.css">
<script src="/console.js" defer></script>
</head><body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><strong>cosell-sync</strong><nav aria-label="Console">${nav('/', 'Overview', 'overview')} ${nav('/deals', 'Deals', 'deals')} ${nav('/problems', 'Dead letters & conflicts', 'problems')} ${nav('/mapping', 'Mapping', 'mapping')}</nav>
<button type="button" id="logout">Log out</button></header>
<div id="banner" class="banner" role="alert" hidden></div>
<main id="main">${body}</main>
</body></html>`.toString()}`;
}

export const showValue = (value: CanonicalValue | undefined | unknown): string =>
  value === undefined ? '(absent)' : value === null ? '(empty)' : typeof value === 'string' ? value : JSON.stringify(value);

function registrationText(r: ConnectionCard['registration']): Html {
  if (!r) return html`<span class="muted">not checked</span>`;
  const when = r.checkedAt ? html` <span class="muted small">(checked ${time(r.checkedAt)})</span>` : '';
  if (r.status === 'ours') return html`points at this service${when}`;
  if (r.status === 'missing') return html`<span class="err">missing: Partner Center sends no events (cosell webhooks register)</span>${when}`;
  if (r.status === 'elsewhere') return html`<span class="err">points elsewhere: ${r.url}</span>${when}`;
  if (!r.checkedAt) return html`<span class="muted">not checked yet</span>`;
  return html`<span class="muted">unknown${r.error ? html`: ${r.error}` : ''}</span>${when}`;
}

function credentialText(c: NonNullable<ConnectionCard['credential']>): Html {
  const problem = c.problem ? html`<span class="err">${c.problem}</span>${c.problemAt ? html` <span class="muted small">(${time(c.problemAt)})</span>` : ''}<br>` : '';
  if (!c.lastUsedAt) return html`${problem}<span class="muted">not used yet</span>`;
  const expiry = html`expires by inactivity ${time(c.expiresAt)} (${c.daysLeft ?? 0} days left)`;
  return html`${problem}last used ${time(c.lastUsedAt)} · ${c.rotatedAt ? html`rotated ${time(c.rotatedAt)}` : html`<span class="muted">rotation not kept (no tokenEncryptionKey)</span>`}<br>${c.expiringSoon ? html`<span class="err">${expiry}</span>` : expiry}`;
}

/** A budget this far used is shown in red: past it, throttling or a hard stop is near. */
const BUDGET_WARNING = 0.8;

function card(c: ConnectionCard): Html {
  const failing =
    c.state === 'failing' || c.registration?.status === 'missing' || c.registration?.status === 'elsewhere' || Boolean(c.credential?.problem) || Boolean(c.credential?.expiringSoon);
  const title = c.kind === 'partner-center' ? 'Partner Center' : `${c.name} (${c.kind === 'dynamics' ? 'Dynamics 365' : 'Salesforce'})`;
  const stateText = c.state === 'failing' ? `failing — ${c.consecutiveFailures} calls in a row` : c.state === 'ok' ? 'working' : 'no calls yet';
  const share = c.budget ? c.budget.used / c.budget.limit : 0;
  const budget = c.budget
    ? html`<span${share >= BUDGET_WARNING ? html` class="err"` : ''} title="${c.budget.source}">${c.budget.used.toLocaleString('en')} of ${c.budget.limit.toLocaleString('en')} per ${c.budget.window} (${Math.round(share * 100)} %)</span>${c.budget.window === '5 min' ? '' : html` · ${c.callsLast5Min} calls in the last 5 min`}`
    : html`${c.callsLast5Min} in the last 5 min`;
  return html`<section class="card ${failing ? 'card-bad' : c.state === 'ok' ? 'card-ok' : ''}" data-connection="${c.name}" aria-labelledby="card-${c.name}">
<h3 id="card-${c.name}">${title}</h3>
<p class="health"><span class="dot" aria-hidden="true"></span> ${stateText}</p>
<dl>
<dt>Last success</dt><dd>${time(c.lastSuccessAt)}</dd>
<dt>Last error</dt><dd>${c.lastFailureAt ? html`${time(c.lastFailureAt)} <span class="err">${c.lastFailure}</span>` : html`<span class="muted">none</span>`}</dd>
${c.counts?.lastJobError ? html`<dt>Last job error</dt><dd>${time(c.counts.lastJobError.at)} <span class="err">${c.counts.lastJobError.message}</span></dd>` : ''}
<dt>API budget</dt><dd>${budget}${c.throttledLast5Min ? html` · <span class="err">${c.throttledLast5Min} throttled (429)</span>` : ''}</dd>
${c.counts ? html`<dt>Jobs retrying</dt><dd>${c.counts.retrying}</dd>` : ''}
${c.credential ? html`<dt>Refresh token</dt><dd>${credentialText(c.credential)}</dd>` : ''}
${c.kind === 'partner-center' ? html`<dt>Webhook registration</dt><dd>${registrationText(c.registration)}${c.registration ? html`<br>${actionButton('Check now', '/api/registration/check', {}, 'Checked.')} <span class="feedback" role="status" aria-live="polite"></span>` : ''}</dd>` : ''}
</dl>
${c.counts ? html`<ul class="counts" aria-label="Deals on ${c.name}">
<li><a href="/deals?connection=${c.name}&amp;state=ok"><b>${c.counts.synced}</b> synced</a></li>
<li><a href="/deals?connection=${c.name}&amp;state=error"${c.counts.needingAttention ? html` class="err"` : ''}><b>${c.counts.needingAttention}</b> need attention</a></li>
<li><a href="/deals?connection=${c.name}&amp;state=conflict"${c.counts.inConflict ? html` class="err"` : ''}><b>${c.counts.inConflict}</b> in conflict</a></li>
<li><a href="/deals?connection=${c.name}&amp;state=dead-letter"${c.counts.deadLettered ? html` class="err"` : ''}><b>${c.counts.deadLettered}</b> dead-lettered</a></li>
<li><a href="/deals?connection=${c.name}&amp;state=paused"><b>${c.counts.paused}</b> paused</a></li>
</ul>` : ''}</section>`;
}

function tile(label: string, value: number, href: string, bad = false): Html {
  return html`<a class="tile${bad && value > 0 ? ' tile-bad' : ''}" href="${href}"><b>${value}</b>${label}</a>`;
}

export function pairHref(connection: string, referralId: string): string {
  return `/deals/${encodeURIComponent(connection)}/${encodeURIComponent(referralId)}`;
}

/** A deal's page: its pair's, or for a CRM record with no referral, the record's. */
export function dealHref(d: Pick<DealSummary, 'connection' | 'referralId' | 'crmEntity' | 'crmId'>): string {
  if (d.referralId !== null) return pairHref(d.connection, d.referralId);
  return `/deals/${encodeURIComponent(d.connection)}/crm/${encodeURIComponent(d.crmEntity ?? '')}/${encodeURIComponent(d.crmId ?? '')}`;
}

/** What a deal is called before it has a name: its referral, or its CRM record. */
const dealTitle = (d: DealSummary): string => d.name ?? (d.referralId !== null ? `Referral ${d.referralId}` : `CRM ${d.crmEntity ?? 'record'} ${d.crmId ?? ''}`);

/** `collect`: post the ids of the checked boxes of that name instead of `body` (a bulk action). */
export function actionButton(label: string, url: string, body: unknown, done: string, collect?: string): Html {
  return html`<button type="button" class="action" data-post="${url}" data-body="${JSON.stringify(body)}" data-done="${done}"${collect ? html` data-collect="${collect}"` : ''}>${label}</button>`;
}

const replayButton = (d: DeadLetter) => actionButton('Replay', `/api/dead-letters/${d.id}/replay`, {}, 'Queued again: the pair syncs now; the dead letter moves to history.');
const resolveButtons = (c: HeldConflict) =>
  html`${actionButton('Take Partner Center', `/api/conflicts/${c.id}/resolve`, { take: 'partner-center' }, 'Resolving: Partner Center’s value is being written to both sides.')}
${actionButton('Take CRM', `/api/conflicts/${c.id}/resolve`, { take: 'crm' }, 'Resolving: the CRM’s value is being written to both sides.')}`;

/** Deal names by `dealKey` (ConsoleReads.dealNames): given, a table has a Deal column naming each row's deal. */
export type DealNames = ReadonlyMap<string, string>;

/** The Deal cell: the deal's name linking to its page, its id under it (the id alone when no name is known). */
export function dealCell(d: Pick<DealSummary, 'connection' | 'referralId' | 'crmEntity' | 'crmId'>, names: DealNames): Html {
  const id = d.referralId ?? `${d.crmEntity ?? ''} ${d.crmId ?? ''}`;
  const name = names.get(dealKey(d));
  return html`<td class="wrap"><a href="${dealHref(d)}">${name ?? id}</a>${name ? html`<br><span class="muted small">${id}</span>` : ''} <span class="muted">${d.connection}</span></td>`;
}

/** `selectable`: a checkbox per open row, named for the "Replay selected" button (see console.js data-collect). */
export function deadLetterTable(rows: DeadLetter[], withPair: false | DealNames, selectable = false): Html {
  if (rows.length === 0) return html`<p class="muted">None.</p>`;
  return html`<div class="scroll"><table class="dead-letters"><thead><tr>${selectable ? html`<th><span class="sr">Select</span></th>` : ''}<th>#</th><th>Failed</th>${withPair ? html`<th>Deal</th>` : ''}<th>Attempts</th><th>Error</th><th>State</th><th><span class="sr">Action</span></th></tr></thead><tbody>
${rows.map(
  (d) => html`<tr>${selectable ? html`<td>${d.resolvedAt ? '' : html`<input type="checkbox" name="dead-letter" value="${d.id}" aria-label="Select dead letter ${d.id}">`}</td>` : ''}<td>${d.id}</td><td>${time(d.failedAt)}</td>${withPair ? dealCell(d, withPair) : ''}
<td>${d.attempts}</td><td class="wrap">${d.error}</td>
<td>${d.resolvedAt ? html`${d.resolvedBy === 'replay' ? 'replayed' : 'resolved by a later sync'} ${time(d.resolvedAt)}` : 'open'}</td>
<td>${d.resolvedAt ? '' : html`${replayButton(d)} <span class="feedback" role="status" aria-live="polite"></span>`}</td></tr>`,
)}</tbody></table></div>`;
}

export function conflictTable(rows: HeldConflict[], withPair: false | DealNames): Html {
  if (rows.length === 0) return html`<p class="muted">None.</p>`;
  return html`<div class="scroll"><table><thead><tr><th>Since</th>${withPair ? html`<th>Deal</th>` : ''}<th>Field</th><th>Agreed before</th><th>Partner Center</th><th>CRM</th><th><span class="sr">Action</span></th></tr></thead><tbody>
${rows.map(
  (c) => html`<tr><td>${time(c.detectedAt)}</td>${withPair ? dealCell({ connection: c.connection, referralId: c.referralId, crmEntity: null, crmId: null }, withPair) : ''}
<td>${c.field}</td><td class="wrap">${showValue(c.base)}</td><td class="wrap">${showValue(c.pc)}</td><td class="wrap">${showValue(c.crm)}</td>
<td>${c.resolution ? html`resolving: ${showValue(c.resolution.value)}` : html`${resolveButtons(c)} <span class="feedback" role="status" aria-live="polite"></span>`}</td></tr>`,
)}</tbody></table></div>`;
}

/** The overview's live part: replaced by console.js on every poll. */
export function overviewSection(o: OverviewResponse, deadLetters: DeadLetter[], conflicts: HeldConflict[], closed: DeadLetter[] = [], names: DealNames = new Map()): Html {
  return html`<div id="live" data-generated-at="${o.generatedAt}" data-status="${o.status}">
<p class="muted">Updated ${time(o.generatedAt)} · service ${o.status} · store ${o.store} · queue ${o.queueDepth} (${o.inFlight} running)</p>
<div class="tiles">${tile('deals synced', o.totals.synced, '/deals?state=ok')}${tile('need attention', o.totals.needingAttention, '/deals?state=error', true)}${tile('in conflict', o.totals.inConflict, '/deals?state=conflict', true)}${tile('dead-lettered', o.totals.deadLettered, '/deals?state=dead-letter', true)}${tile('paused', o.totals.paused, '/deals?state=paused')}${tile('jobs retrying', o.totals.retrying, '/deals?state=retrying', true)}</div>
<h2>Connections</h2>
<div class="cards">${o.connections.map(card)}</div>
<h2>Dead letters</h2>
<p class="muted">Syncs that failed for good. Fix the cause (the record, the mapping, a permission), then replay.</p>
${deadLetters.length > 1 ? html`<p>${actionButton(`Replay all ${deadLetters.length}`, '/api/dead-letters/replay', { ids: deadLetters.map((d) => d.id) }, 'Queued again.')} <span class="feedback" role="status" aria-live="polite"></span></p>` : ''}
${deadLetterTable(deadLetters, names)}
${closed.length ? html`<details><summary>Recently closed (${closed.length})</summary>${deadLetterTable(closed, names)}</details>` : ''}
<h2>Held conflicts</h2>
<p class="muted">Fields under a <code>manual</code> policy that both sides changed; released once both hold the same value, or by taking one side (written to both).</p>
${conflictTable(conflicts, names)}
</div>`;
}

export function overviewPage(section: Html): string {
  return layout('Overview', 'overview', html`<h1>Overview</h1><div data-poll="/overview/live">${section}</div>`);
}

export interface DealsFilter {
  q: string;
  state: DealState | undefined;
  connection: string | undefined;
}

export function dealsPage(result: DealsResponse, filter: DealsFilter, connections: readonly string[]): string {
  const first = result.total === 0 ? 0 : (result.page - 1) * result.pageSize + 1;
  const last = Math.min(result.total, result.page * result.pageSize);
  const pageHref = (page: number) => {
    const params = new URLSearchParams();
    if (filter.q) params.set('q', filter.q);
    if (filter.state) params.set('state', filter.state);
    if (filter.connection) params.set('connection', filter.connection);
    params.set('page', String(page));
    return `/deals?${params.toString()}`;
  };
  const body = html`<h1>Deals</h1>
<form class="filters" method="get" action="/deals" role="search">
<label>Search <input type="search" name="q" value="${filter.q}" maxlength="100" placeholder="deal, customer, referral or CRM id"></label>
<label>Sync state <select name="state"><option value="">any</option>${DEAL_STATES.map((s) => html`<option value="${s}"${filter.state === s ? html` selected` : ''}>${STATE_LABELS[s].label}</option>`)}</select></label>
<label>Connection <select name="connection"><option value="">any</option>${connections.map((c) => html`<option value="${c}"${filter.connection === c ? html` selected` : ''}>${c}</option>`)}</select></label>
<button type="submit">Search</button>
</form>
<p class="muted" id="count">${result.total === 0 ? 'No deals match.' : `Showing ${first}–${last} of ${result.total}`}</p>
${result.deals.length === 0 ? '' : html`<div class="scroll"><table class="deals"><thead><tr><th>Deal</th><th>Customer</th><th>Status</th><th>Sync</th><th>Last sync</th><th>Connection</th><th>Open in</th></tr></thead><tbody>
${result.deals.map(
  (d) => html`<tr><td class="wrap"><a href="${dealHref(d)}">${dealTitle(d)}</a>${d.referralId === null ? html`<br><span class="muted small">in the CRM only: no referral yet</span>` : d.name ? html`<br><span class="muted small">${d.referralId}</span>` : ''}</td>
<td class="wrap">${d.customer ?? html`<span class="muted">—</span>`}</td>
<td class="wrap">${d.status ?? html`<span class="muted">—</span>`}${d.microsoftStatus ? html`<br><span class="muted small">Microsoft: ${d.microsoftStatus}</span>` : ''}</td>
<td>${stateBadge(d.state)}</td><td>${time(d.lastSyncAt)}</td><td>${d.connection}</td>
<td>${d.partnerCenterUrl ? html`<a href="${d.partnerCenterUrl}" rel="noopener noreferrer" target="_blank">Partner Center</a>` : ''}${d.partnerCenterUrl && d.crmUrl ? html`<br>` : ''}${d.crmUrl ? html`<a href="${d.crmUrl}" rel="noopener noreferrer" target="_blank">CRM</a>` : ''}</td></tr>`,
)}</tbody></table></div>`}
<nav class="pages" aria-label="Pages">${result.page > 1 ? html`<a href="${pageHref(result.page - 1)}" rel="prev">← Previous</a>` : ''} ${last < result.total ? html`<a href="${pageHref(result.page + 1)}" rel="next">Next →</a>` : ''}</nav>`;
  return layout('Deals', 'deals', body);
}

const DIRECTION: Record<AuditRecord['direction'], string> = { 'to-crm': 'Partner Center → CRM', 'to-pc': 'CRM → Partner Center', none: '' };
const OUTCOME: Record<AuditRecord['outcome'], string> = {
  created: 'created',
  written: 'wrote',
  skipped: 'left unchanged',
  conflict: 'resolved a conflict on',
  held: 'held a conflict on',
  failed: 'failed to write',
  linked: 'linked the pair',
};

/** One audit entry as a sentence: what we did, where, to which field, from what to what, and why. */
function auditSentence(e: AuditRecord): Html {
  const where = DIRECTION[e.direction];
  const field = e.field ? html` <b>${e.field}</b>` : '';
  // Created and linked entries say what in their message; held ones name both values in it; an operator's act on the
  // whole pair (pause, resume) is its message alone.
  if ((e.outcome === 'created' || e.outcome === 'linked' || (e.outcome === 'skipped' && e.field === null && e.direction === 'none')) && e.message) {
    return html`${where ? html`<span class="dir">${where}</span> ` : ''}${e.message}${field} <span class="muted small">· ${e.cause}</span>`;
  }
  const values =
    e.field && e.outcome !== 'failed' && e.outcome !== 'held' && e.newValue !== undefined
      ? html`: ${e.oldValue !== undefined ? html`<span class="old">${showValue(e.oldValue)}</span> → ` : ''}<span class="new">${showValue(e.newValue)}</span>`
      : '';
  return html`${where ? html`<span class="dir">${where}</span> ` : ''}${OUTCOME[e.outcome]}${field}${values}${e.message ? html` <span class="muted">(${e.message})</span>` : ''} <span class="muted small">· ${e.cause}</span>`;
}

/** Sync now, and pause / resume for a linked pair (a pair not linked yet has nothing to hold back). */
function pairActions(d: DealSummary): Html {
  const feedback = html` <span class="feedback" role="status" aria-live="polite"></span>`;
  if (d.referralId === null) {
    const url = `/api/sync/crm/${encodeURIComponent(d.connection)}/${encodeURIComponent(d.crmEntity ?? '')}/${encodeURIComponent(d.crmId ?? '')}`;
    return html`${actionButton('Sync now', url, {}, 'Queued: the CRM record is read and sent now.')}${feedback}`;
  }
  const sync = d.paused ? '' : html`${actionButton('Sync now', `/api/sync/referral/${encodeURIComponent(d.referralId)}`, {}, 'Queued: both sides are read and synced now.')} `;
  const pair = `/api/pairs/${encodeURIComponent(d.connection)}/${encodeURIComponent(d.referralId)}`;
  const toggle = d.crmId === null ? '' : d.paused
    ? actionButton('Resume', `${pair}/resume`, {}, 'Resumed: both sides are merged now, with every change made while paused.')
    : actionButton('Pause', `${pair}/pause`, {}, 'Paused: neither side is written until you resume.');
  return html`${sync}${toggle}${feedback}`;
}

export function pairPage(p: PairResponse): string {
  const d = p.deal;
  const conflictByField = new Map(p.conflicts.map((c) => [c.field, c]));
  const fields = [...new Set([...Object.keys(p.base), ...conflictByField.keys()])].sort();
  const body = html`<p><a href="/deals">← Deals</a></p>
<h1>${dealTitle(d)}</h1>
<p>${stateBadge(d.state)}${d.paused && d.state !== 'paused' ? html` ${stateBadge('paused')}` : ''} · ${d.connection}${d.referralId !== null ? html` · referral <code>${d.referralId}</code>` : html` · in the CRM only: no referral yet`}${d.crmId ? html` · ${d.crmEntity} <code>${d.crmId}</code>` : ''}${d.customer ? html` · customer ${d.customer}` : ''} · last sync ${time(d.lastSyncAt)}</p>
<p class="links">${d.partnerCenterUrl ? html`<a href="${d.partnerCenterUrl}" rel="noopener noreferrer" target="_blank">Open in Partner Center</a> · ` : ''}${d.crmUrl ? html`<a href="${d.crmUrl}" rel="noopener noreferrer" target="_blank">Open in the CRM</a> · ` : ''}${pairActions(d)}</p>
${d.paused ? html`<p class="paused-note">Paused: neither side is written until you resume. Changes made meanwhile are kept and merged on resume.</p>` : ''}
${d.lastError ? html`<p class="err">Last error: ${d.lastError}</p>` : ''}
${d.respondBy ? html`<p class="respond-by">Incoming referral awaiting your answer: accept or decline it in Partner Center before ${time(d.respondBy)}, or it expires.</p>` : ''}
<h2>Fields</h2>
${fields.length === 0 ? html`<p class="muted">Not linked yet: no values agreed between the sides.</p>` : html`<div class="scroll"><table><thead><tr><th>Field</th><th>Partner Center</th><th>CRM</th><th></th></tr></thead><tbody>
${fields.map((f) => {
  const c = conflictByField.get(f);
  return c
    ? html`<tr class="differs"><td>${f}</td><td class="wrap">${showValue(c.pc)}</td><td class="wrap">${showValue(c.crm)}</td><td>differs (agreed before: ${showValue(c.base)})</td></tr>`
    : html`<tr><td>${f}</td><td class="wrap">${showValue(p.base[f])}</td><td class="wrap">${showValue(p.base[f])}</td><td class="muted">same at the last sync</td></tr>`;
})}</tbody></table></div>`}
<h2>Held conflicts</h2>
${conflictTable(p.conflicts, false)}
<h2>Dead letters</h2>
${deadLetterTable(p.deadLetters, false)}
<h2>History</h2>
${p.audit.length === 0 ? html`<p class="muted">Nothing recorded yet.</p>` : html`<ol class="timeline">${p.audit.map((e) => html`<li>${time(e.at)} ${auditSentence(e)}</li>`)}</ol>`}`;
  return layout(dealTitle(d), 'deals', body);
}
