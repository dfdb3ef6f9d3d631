import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const UNIT = resolve(import.meta.dirname, '../../../deploy/systemd/cosell.service');

describe('deploy/systemd/cosell.service', () => {
  it('keeps the hardening an operator relies on', () => {
    const unit = readFileSync(UNIT, 'utf8');
    for (const directive of ['DynamicUser=yes', 'StateDirectory=cosell', 'UMask=0077', 'ProtectSystem=strict', 'RestartPreventExitStatus=2']) {
      expect(unit).toContain(directive);
    }
    expect(unit).toMatch(/^ExecStart=\S*node \S+\/dist\/cli\/main\.js start /m);
  });

  // systemd's own parser, where the machine has it (Debian and its CI images do): unknown keys and bad values fail here.
  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  it.runIf(analyze.status === 0)('passes systemd-analyze verify', () => {
    const verified = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    expect(verified.stderr + verified.stdout).toBe('');
    expect(verified.status).toBe(0);
  });
});
