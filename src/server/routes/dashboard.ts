import type { FastifyInstance } from 'fastify';

/** A deliberately small page: the JSON admin API is the real interface, this is the at-a-glance view. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cosell-sync</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px system-ui,sans-serif;margin:2rem;color:#1b1b1b} h1{font-size:1.3rem}
 table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd}
 th{background:#f4f4f4} code{font-size:12px} .muted{color:#666}
</style></head>
<body><h1>cosell-sync</h1>
<p class="muted">Verified events in the inbox, newest first. Refreshes every 2 s. JSON: <a href="/api/events">/api/events</a> · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></p>
<table><thead><tr><th>#</th><th>received</th><th>source</th><th>event</th><th>resource</th><th>deliveries</th></tr></thead><tbody id="rows"></tbody></table>
<script>
async function refresh(){
  const res = await fetch('/api/events?limit=100'); const data = await res.json();
  const rows = document.getElementById('rows'); rows.replaceChildren();
  for (const e of data.events) {
    const tr = document.createElement('tr');
    for (const v of [e.id, e.receivedAt, e.source, e.eventName, e.resourceId ?? '', e.deliveries]) {
      const td = document.createElement('td'); td.textContent = String(v); tr.appendChild(td);
    }
    rows.appendChild(tr);
  }
}
refresh(); setInterval(refresh, 2000);
</script></body></html>`;

export function dashboardRoute(app: FastifyInstance): void {
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
}
