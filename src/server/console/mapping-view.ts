import type { MappingSpec } from '../../sync/mapping/spec.ts';
import type { Transform } from '../../sync/mapping/spec-schema.ts';
import type { MappingPreview } from '../../sync/mapping-preview.ts';
import { html, type Html } from './html.ts';
import { layout, showValue } from './views.ts';

/* The mapping view: the active mapping of each CRM connection, read-only, and a preview of one record. */

const DIRECTION = { both: '⇄ both ways', 'to-crm': '→ to the CRM', 'to-pc': '← to Partner Center' } as const;

/** A transform in a few words: its type and what makes it that one (entity, length, value count). */
function transformText(t: Transform): string {
  switch (t.type) {
    case 'valueMap':
    case 'multiValueMap':
      return `${t.type} (${t.map.length} values)`;
    case 'lookup':
      return `lookup ${t.entity} by ${t.by}`;
    case 'template':
      return `template ${t.template}`;
    case 'constant':
      return `constant ${JSON.stringify(t.value)}${t.on ? ` on ${t.on}` : ''}`;
    case 'string':
      return t.maxLength ? `string, at most ${t.maxLength}` : 'string';
    default:
      return t.type;
  }
}

export interface MappingConnection {
  name: string;
  spec: MappingSpec;
}

export interface PreviewForm {
  connection: string;
  record: string;
}

function specTable(c: MappingConnection): Html {
  return html`<section class="mapping" aria-labelledby="mapping-${c.name}"><h2 id="mapping-${c.name}">${c.name} <span class="muted small">${c.spec.file}</span></h2>
${Object.values(c.spec.entities).map((e) =>
  e
    ? html`<h3>${e.entity}${e.pcItems ? html` <span class="muted small">(one per item of ${e.pcItems.text})</span>` : ''}</h3>
<div class="scroll"><table class="mapping-fields"><thead><tr><th>Field</th><th>Partner Center</th><th>CRM</th><th>Direction</th><th>Conflict</th><th>Transform</th></tr></thead><tbody>
${e.fields.map(
  (f) => html`<tr><td>${f.key}</td><td class="wrap">${f.pc.length ? f.pc.map((p) => p.text).join(', ') : html`<span class="muted">—</span>`}</td><td class="wrap">${f.crm.length ? f.crm.join(', ') : html`<span class="muted">—</span>`}</td>
<td>${DIRECTION[f.direction]}${f.linkOnly ? html` <span class="muted small">(on link only)</span>` : ''}</td><td>${f.conflict}</td><td class="wrap">${transformText(f.transform)}</td></tr>`,
)}</tbody></table></div>`
    : '',
)}</section>`;
}

function previewResult(p: MappingPreview): Html {
  const changes = (n: number) => (n === 0 ? html`<span class="muted">nothing</span>` : '');
  return html`<section id="preview" aria-label="Preview"><p>${p.connection}: referral <code>${p.referralId ?? '(none yet)'}</code> ⇄ ${p.crm ? html`${p.crm.entity} <code>${p.crm.id}</code>` : '(no CRM record yet)'}${p.linked ? '' : html` <span class="muted">— not linked yet</span>`}</p>
<div class="scroll"><table class="preview-fields"><thead><tr><th>Field</th><th>Partner Center</th><th>CRM</th><th>Agreed at the last sync</th></tr></thead><tbody>
${p.fields.map((f) => html`<tr${f.partnerCenter !== undefined && f.crm !== undefined && JSON.stringify(f.partnerCenter) !== JSON.stringify(f.crm) ? html` class="differs"` : ''}><td>${f.key}</td><td class="wrap">${showValue(f.partnerCenter)}</td><td class="wrap">${showValue(f.crm)}</td><td class="wrap">${p.linked ? showValue(f.base) : html`<span class="muted">—</span>`}</td></tr>`)}
</tbody></table></div>
<h3>A sync now would write</h3>
<dl class="would"><dt>To the CRM</dt><dd>${changes(Object.keys(p.toCrm).length)}${Object.keys(p.toCrm).length ? html`<code>${JSON.stringify(p.toCrm)}</code>` : ''}</dd>
<dt>To Partner Center</dt><dd>${changes(p.toPartnerCenter.length)}${p.toPartnerCenter.length ? html`<code>${JSON.stringify(p.toPartnerCenter)}</code>` : ''}</dd>
${p.conflicts.length ? html`<dt>Conflicts</dt><dd>${p.conflicts.map((c) => `${c.key} (${c.policy} → ${c.resolution})`).join(', ')}</dd>` : ''}</dl>
<p class="muted small">Nothing was written: both records were read and merged in memory.</p></section>`;
}

export function mappingPage(connections: readonly MappingConnection[], form: PreviewForm, preview: MappingPreview | { error: string } | undefined): string {
  const body = html`<h1>Mapping</h1>
<p class="muted">The mapping each CRM connection runs with (read-only: edit the file named under each heading and restart). Check it against a real record below.</p>
${connections.length === 0 ? html`<p class="muted">No CRM connection is configured.</p>` : ''}
<form class="filters" method="get" action="/mapping" role="search" aria-label="Preview a record">
<label>Connection <select name="connection">${connections.map((c) => html`<option value="${c.name}"${form.connection === c.name ? html` selected` : ''}>${c.name}</option>`)}</select></label>
<label>Referral id or CRM record <input type="search" name="record" value="${form.record}" maxlength="200" placeholder="referral id, or opportunity:&lt;id&gt;"></label>
<button type="submit">Preview</button>
</form>
${preview === undefined ? '' : 'error' in preview ? html`<p class="err" role="alert">${preview.error}</p>` : previewResult(preview)}
${connections.map(specTable)}`;
  return layout('Mapping', 'mapping', body);
}
