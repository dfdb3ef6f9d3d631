/*
 * The console's only script and stylesheet, served from the admin listener itself (the CSP allows 'self' and nothing
 * inline). Kept as strings so the built package needs no asset copying.
 */

export const CONSOLE_JS = `'use strict';
// Local time for every <time>; the UTC value stays in its title (shown on hover).
function localTimes(root) {
  for (const el of root.querySelectorAll('time[datetime]')) {
    const d = new Date(el.getAttribute('datetime'));
    if (!Number.isNaN(d.getTime())) el.textContent = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  }
}
function banner(text) {
  const el = document.getElementById('banner');
  if (!el) return;
  el.hidden = !text;
  el.textContent = text || '';
}
let lastActionAt = 0;
// State changes are JSON only: the admin listener refuses anything a cross-site form could send.
async function post(button) {
  const feedback = button.parentElement.querySelector('.feedback');
  const say = (text, bad) => { if (feedback) { feedback.textContent = text; feedback.classList.toggle('err', !!bad); } };
  button.disabled = true;
  lastActionAt = Date.now();
  say('Working…');
  try {
    let body = button.dataset.body || '{}';
    // A bulk action: the ids of the checked boxes named by data-collect.
    if (button.dataset.collect) {
      const ids = [...document.querySelectorAll('input[name="' + button.dataset.collect + '"]:checked')].map((el) => Number(el.value));
      if (ids.length === 0) { say('Select at least one first.', true); button.disabled = false; return; }
      body = JSON.stringify({ ids });
    }
    const response = await fetch(button.dataset.post, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (response.status === 401) { location.reload(); return; }
    if (response.ok) {
      lastActionAt = Date.now();
      let told = '';
      try { const body = await response.json(); if (body && typeof body.message === 'string') told = body.message; } catch (e) { /* no JSON body */ }
      say(told || button.dataset.done || 'Done.');
      for (const sibling of button.parentElement.querySelectorAll('button.action')) sibling.disabled = true;
      return;
    }
    let message = 'HTTP ' + response.status;
    try { const body = await response.json(); if (body && body.error && body.error.message) message = body.error.message; } catch (e) { /* not JSON */ }
    say('Failed: ' + message, true);
  } catch (e) {
    say('Failed: the service did not answer.', true);
  }
  button.disabled = false;
}
document.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target.closest('button.action') : null;
  if (target) post(target);
});
// Polled sections: the server renders them, this swaps them in. A failed poll keeps the old data under a banner.
function poll(container) {
  const url = container.dataset.poll;
  let lastGood = Date.now();
  const stamp = () => new Date(lastGood).toLocaleTimeString();
  async function once() {
    // A swap would wipe an action's feedback before it could be read: give it a few seconds.
    if (Date.now() - lastActionAt < 4000) return;
    try {
      const response = await fetch(url, { headers: { accept: 'text/html' }, cache: 'no-store' });
      if (response.status === 401) { location.reload(); return; }
      if (!response.ok) throw new Error('HTTP ' + response.status);
      container.innerHTML = await response.text();
      localTimes(container);
      lastGood = Date.now();
      container.classList.remove('stale');
      banner('');
    } catch (e) {
      container.classList.add('stale');
      banner('The service is not answering (' + e.message + '). Showing data from ' + stamp() + '; retrying every 5 s.');
    }
  }
  setInterval(once, 5000);
  // A tab put to sleep misses polls: say so before the next one lands.
  setInterval(() => { if (Date.now() - lastGood > 30000) banner('Data is stale: last updated ' + stamp() + '.'); }, 5000);
}
document.addEventListener('DOMContentLoaded', () => {
  localTimes(document);
  for (const el of document.querySelectorAll('[data-poll]')) poll(el);
  const logout = document.getElementById('logout');
  if (logout) logout.addEventListener('click', async () => {
    await fetch('/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    location.assign('/');
  });
});
`;

export const CONSOLE_CSS = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
a{color:#0b57d0} a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.skip{position:absolute;left:-999px} .skip:focus{left:1rem;top:.5rem;background:#fff;padding:.3rem .6rem;z-index:2}
.top{display:flex;align-items:center;gap:1.5rem;padding:.6rem 1.5rem;background:#1f2937;color:#fff}
.top nav a{color:#fff;margin-right:1rem;text-decoration:none} .top nav a[aria-current=page]{text-decoration:underline;font-weight:600}
.top button{margin-left:auto}
main{padding:1rem 1.5rem;max-width:1400px}
h1{font-size:1.35rem;margin:.4rem 0 .8rem} h2{font-size:1.05rem;margin:1.6rem 0 .5rem} h3{font-size:1rem;margin:0 0 .3rem}
.muted{color:#5f6368} .small{font-size:.85em} .err{color:#b00020} .sr{position:absolute;left:-999px}
button{font:inherit;padding:.2rem .6rem;cursor:pointer} button:disabled{cursor:default}
.banner{background:#b00020;color:#fff;padding:.6rem 1.5rem;font-weight:600}
.tiles{display:flex;gap:.8rem;flex-wrap:wrap}
.tile{border:1px solid #ddd;border-radius:6px;padding:.5rem .9rem;min-width:8.5rem;background:#fff;color:inherit;text-decoration:none}
.tile b{display:block;font-size:1.4rem} .tile-bad{border-color:#b00020;color:#b00020}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1rem}
.card{border:1px solid #ddd;border-left:6px solid #9aa0a6;border-radius:6px;padding:.7rem 1rem;background:#fff;min-width:0}
.card-ok{border-left-color:#188038} .card-bad{border-left-color:#b00020;background:#fdecee}
.card .dot{display:inline-block;width:.7rem;height:.7rem;border-radius:50%;background:#9aa0a6}
.card-ok .dot{background:#188038} .card-bad .dot{background:#b00020} .card-bad .health{color:#b00020;font-weight:600}
.card dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0 0} .card dt{color:#5f6368} .card dd{margin:0;overflow-wrap:anywhere}
.counts{display:grid;grid-template-columns:repeat(auto-fit,minmax(4.6rem,1fr));gap:.3rem;list-style:none;padding:.5rem 0 0;margin:.5rem 0 0;border-top:1px solid #e3e3e3}
.counts a{text-decoration:none;display:block;font-size:.85em} .counts b{display:block;font-size:1.15rem}
.stale{opacity:.55}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e3e3e3;vertical-align:top}
th{background:#f1f3f4;font-weight:600} td.wrap{overflow-wrap:anywhere;max-width:28rem}
tr.differs td{background:#fff4e5}
.badge{white-space:nowrap;padding:.05rem .45rem;border-radius:1rem;font-size:.9em;background:#e8eaed}
.state-ok{background:#e6f4ea;color:#137333} .state-error,.state-dead-letter{background:#fce8e6;color:#a50e0e}
.state-conflict{background:#fef7e0;color:#8a5300} .state-retrying{background:#e8f0fe;color:#174ea6} .state-paused{background:#ede7f6;color:#4527a0}
.respond-by{background:#fef7e0;color:#5c3c00;padding:.5rem .8rem;border-radius:6px}
.paused-note{background:#ede7f6;color:#311b92;padding:.5rem .8rem;border-radius:6px}
.filters{display:flex;flex-wrap:wrap;gap:.8rem;align-items:end;margin-bottom:.6rem} .filters label{display:flex;flex-direction:column;gap:.2rem}
.filters input{font:inherit;width:22rem;max-width:100%;padding:.2rem .4rem} .filters select{font:inherit;padding:.2rem}
.pages{display:flex;gap:1rem;margin:.8rem 0}
.timeline{list-style:none;padding:0;margin:0} .timeline li{padding:.35rem 0;border-bottom:1px solid #eee;overflow-wrap:anywhere}
.timeline .dir{font-weight:600} .timeline .old{text-decoration:line-through;color:#5f6368}
.feedback{margin-left:.4rem}
.mapping h3{margin:1rem 0 .4rem} .would{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem} .would dt{color:#5f6368} .would dd{margin:0;overflow-wrap:anywhere}
code{overflow-wrap:anywhere}
`;
