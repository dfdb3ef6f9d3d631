import type { FastifyInstance } from 'fastify';

/** A deliberately small page over the JSON admin API, which is the real interface; this is the at-a-glance view. */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cosell-sync</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px system-ui,sans-serif;margin:2rem;color:#1b1b1b} h1{font-size:1.3rem} h2{font-size:1.05rem;margin-top:1.6rem}
 table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
 th{background:#f4f4f4} .muted{color:#666} .tiles{display:flex;gap:1rem;flex-wrap:wrap}
 .tile{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;min-width:9rem} .tile b{display:block;font-size:1.4rem}
 .bad{color:#b00020} button{font:inherit;padding:.1rem .5rem}
</style></head>
<body><h1>cosell-sync</h1>
<p class="muted">Refreshes every 2 s. JSON: <a href="/api/status">/api/status</a> · <a href="/api/events">/api/events</a> ·
<a href="/api/audit">/api/audit</a> · <a href="/api/conflicts">/api/conflicts</a> · <a href="/api/dead-letters">/api/dead-letters</a> ·
<a href="/metrics">/metrics</a> · <a href="/readyz">/readyz</a> · <button id="logout">log out</button></p>
<div class="tiles" id="tiles"></div>
<h2>Dead letters</h2>
<p class="muted">Syncs that failed for good. Fix the cause (the record, the mapping, a permission), then replay.</p>
<table><thead><tr><th>#</th><th>failed</th><th>connection</th><th>record</th><th>attempts</th><th>error</th><th></th></tr></thead><tbody id="dead"></tbody></table>
<h2>Held conflicts</h2>
<p class="muted">Fields under a <code>manual</code> policy that both sides changed; released once both hold the same value, or by taking one side (written to both).</p>
<table><thead><tr><th>since</th><th>connection</th><th>referral</th><th>field</th><th>base</th><th>Partner Center</th><th>CRM</th><th></th></tr></thead><tbody id="conflicts"></tbody></table>
<h2>Recent sync activity</h2>
<table><thead><tr><th>time</th><th>referral</th><th>CRM record</th><th>direction</th><th>field</th><th>value</th><th>outcome</th><th>note</th></tr></thead><tbody id="audit"></tbody></table>
<h2>Verified events</h2>
<table><thead><tr><th>#</th><th>received</th><th>source</th><th>event</th><th>resource</th><th>deliveries</th></tr></thead><tbody id="events"></tbody></table>
<script>
function fill(id, rows, empty) {
  const body = document.getElementById(id); body.replaceChildren();
  if (rows.length === 0 && empty) rows = [[empty]];
  for (const cells of rows) {
    const tr = document.createElement('tr');
    for (const v of cells) {
      const td = document.createElement('td');
      if (v instanceof Node) td.appendChild(v); else td.textContent = v === undefined || v === null ? '' : String(v);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}
// State changes are JSON only: the admin listener refuses anything a cross-site form could send.
function actionButton(label, url, body, done) {
  const button = document.createElement('button');
  button.textContent = label;
  button.onclick = async () => {
    button.disabled = true;
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    button.textContent = response.ok ? done : 'failed (' + response.status + ')';
    refresh();
  };
  return button;
}
const replayButton = (id) => actionButton('replay', '/api/dead-letters/' + id + '/replay', {}, 'queued');
// Resolving writes the chosen side's value to both sides at the pair's next sync, which releases the hold.
function resolveButtons(id) {
  const span = document.createElement('span');
  span.append(actionButton('take Partner Center', '/api/conflicts/' + id + '/resolve', { take: 'partner-center' }, 'resolving'), ' ',
    actionButton('take CRM', '/api/conflicts/' + id + '/resolve', { take: 'crm' }, 'resolving'));
  return span;
}
document.getElementById('logout').addEventListener('click', async () => {
  await fetch('/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  location.assign('/');
});
// A session that expired (or a service restart) answers 401: reloading shows the login form.
const get = (u) => fetch(u).then((r) => { if (r.status === 401) { location.reload(); throw new Error('logged out'); } return r.json(); });
const show = (v) => (v === undefined ? '' : JSON.stringify(v));
async function refresh() {
  const [status, audit, events, dead, conflicts] = await Promise.all(
    ['/api/status', '/api/audit?limit=50', '/api/events?limit=50', '/api/dead-letters?limit=50', '/api/conflicts'].map(get),
  );
  const tiles = document.getElementById('tiles'); tiles.replaceChildren();
  for (const [label, value, bad] of [['connections', status.connections.join(', ') || 'none'], ['queue', status.queueDepth], ['dead letters', status.deadLetters, status.deadLetters > 0], ['held conflicts', status.heldConflicts, status.heldConflicts > 0], ['last sync', status.lastSync || 'never']]) {
    const div = document.createElement('div'); div.className = 'tile' + (bad ? ' bad' : '');
    const b = document.createElement('b'); b.textContent = String(value); div.append(b, document.createTextNode(label)); tiles.appendChild(div);
  }
  fill('dead', dead.deadLetters.map((d) => [d.id, d.failedAt, d.connection, d.referralId ? 'referral ' + d.referralId : (d.crmEntity || '') + ' ' + (d.crmId || ''), d.attempts, d.error, replayButton(d.id)]), 'none');
  fill('conflicts', conflicts.conflicts.map((c) => [c.detectedAt, c.connection, c.referralId, c.field, show(c.base), show(c.pc), show(c.crm), resolveButtons(c.id)]), 'none');
  fill('audit', audit.entries.map((e) => [e.at, e.referralId, e.crmEntity ? e.crmEntity + ' ' + e.crmId : '', e.direction, e.field, e.newValue === undefined ? '' : JSON.stringify(e.newValue), e.outcome, e.message]));
  fill('events', events.events.map((e) => [e.id, e.receivedAt, e.source, e.eventName, e.resourceId, e.deliveries]));
}
refresh(); setInterval(refresh, 2000);
</script></body></html>`;

export function dashboardRoute(app: FastifyInstance): void {
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(DASHBOARD_PAGE));
}
