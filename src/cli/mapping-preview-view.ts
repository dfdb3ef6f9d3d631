import type { MappingPreview } from '../sync/mapping-preview.ts';
import { UsageError } from './errors.ts';

/*
 * The human form of `cosell mapping preview`. Values are shown whole: a long value wraps inside its column instead of
 * being cut, because an operator checking a mapping needs to see exactly what would be written (`--json` gives the
 * structured form).
 */

const show = (value: unknown): string => (value === undefined ? '–' : JSON.stringify(value));

/** Splits `text` into lines of at most `width` characters, at spaces where it can, inside words where it must. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      let rest = word;
      while (rest.length > 0) {
        const room = width - (line.length > 0 ? line.length + 1 : 0);
        if (rest.length <= room) {
          line = line.length > 0 ? `${line} ${rest}` : rest;
          rest = '';
        } else if (line.length > 0 && rest.length <= width) {
          lines.push(line);
          line = '';
        } else {
          const cut = line.length > 0 ? room : width;
          if (cut <= 0) {
            lines.push(line);
            line = '';
            continue;
          }
          line = line.length > 0 ? `${line} ${rest.slice(0, cut)}` : rest.slice(0, cut);
          lines.push(line);
          line = '';
          rest = rest.slice(cut);
        }
      }
    }
    lines.push(line);
  }
  return lines;
}

/** A table whose cells wrap: every row as tall as its tallest cell. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, widths: readonly number[]): string[] {
  const out: string[] = [];
  for (const row of [header, ...rows]) {
    const cells = row.map((cell, i) => wrap(cell, widths[i] ?? 20));
    const height = Math.max(...cells.map((c) => c.length));
    for (let line = 0; line < height; line++) {
      out.push(cells.map((c, i) => (c[line] ?? '').padEnd(i === cells.length - 1 ? 0 : (widths[i] ?? 20))).join('  ').trimEnd());
    }
  }
  return out;
}

/** Column widths that fit the terminal (80 columns when not a terminal), the last column taking the rest. */
function widthsFor(fixed: readonly number[], total: number): number[] {
  const used = fixed.reduce((a, b) => a + b + 2, 0);
  return [...fixed, Math.max(20, total - used)];
}

export function renderPreview(result: MappingPreview, terminalWidth = process.stdout.columns ?? 100): string {
  const width = Math.max(80, terminalWidth);
  const { connection, referralId, crm, linked } = result;
  const lines = [
    `${connection}: referral ${referralId ?? '(none yet)'} ⇄ ${crm ? `${crm.entity} ${crm.id}` : '(no CRM record yet)'}${linked ? '' : ' — not linked yet'}`,
  ];
  if (result.partnerCenterStatus) {
    const { status, substatus } = result.partnerCenterStatus;
    lines.push(`Partner Center status: ${status ?? '(none)'}${substatus ? ` / ${substatus}` : ''}`);
  }
  const third = Math.floor((width - 28 - 6) / 3);
  lines.push(
    '',
    ...table(
      ['field', 'partner center', 'crm', 'base'],
      result.fields.map((f) => [f.key, show(f.partnerCenter), show(f.crm), show(f.base)]),
      widthsFor([26, third, third], width),
    ),
  );
  const { create } = result;
  if (create) {
    lines.push('');
    if (create.entity === null) {
      lines.push(`would create in the CRM: nothing — ${create.reason ?? 'not created'}`);
    } else {
      lines.push(`would create this ${create.entity} (${Object.keys(create.columns).length} columns):`);
      lines.push(...table(['column', 'value'], Object.entries(create.columns).map(([column, value]) => [column, show(value)]), widthsFor([34], width)));
      if (create.customerColumns.length > 0 && create.customer) {
        const who = [create.customer.name || '(no company name)', ...create.customer.contacts].join(', ');
        lines.push(`<customer-…>: the customer records matched, or created, at create time (${who})`);
      }
    }
  }
  lines.push(
    '',
    ...wrap(`would write to the CRM: ${Object.keys(result.toCrm).length ? JSON.stringify(result.toCrm) : 'nothing'}`, width),
    ...wrap(`would write to Partner Center: ${result.toPartnerCenter.length ? JSON.stringify(result.toPartnerCenter) : 'nothing'}`, width),
    ...(result.conflicts.length ? wrap(`conflicts: ${result.conflicts.map((c) => `${c.key} (${c.policy} → ${c.resolution})`).join(', ')}`, width) : []),
  );
  return lines.join('\n');
}

/**
 * Which connection to preview: the named one, the only one, or (several, on a terminal) the operator's choice. Without
 * a terminal the command cannot ask, so it stops naming the option rather than guessing.
 */
export async function chooseConnection<T>(
  connections: ReadonlyMap<string, T>,
  named: string | undefined,
  terminal: { interactive: boolean; select?: (names: string[]) => Promise<string> } = { interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY) },
): Promise<T> {
  const names = [...connections.keys()];
  if (named !== undefined) {
    const chosen = connections.get(named);
    if (!chosen) throw new UsageError(`no connection named ${named} (configured: ${names.join(', ') || 'none'})`);
    return chosen;
  }
  if (names.length === 0) throw new UsageError('no CRM connection is configured');
  if (names.length === 1) return connections.get(names[0] as string) as T;
  if (!terminal.interactive) throw new UsageError(`several CRM connections are configured (${names.join(', ')}): choose one with --connection <name>`);
  const select =
    terminal.select ??
    (async (choices: string[]) => {
      // Loaded only here: a prompt library has no business in the other commands.
      const prompts = await import('@inquirer/prompts');
      return prompts.select({ message: 'Which CRM connection?', choices: choices.map((value) => ({ value })) });
    });
  const answer = await select(names);
  const chosen = connections.get(answer);
  if (!chosen) throw new UsageError(`no connection named ${answer}`);
  return chosen;
}
