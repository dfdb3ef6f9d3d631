import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployedNodeOptions } from '../../../bench/support/deployed-node-options.ts';

const root = resolve(import.meta.dirname, '../../..');
// Read as bench:backfill reads it, so the benchmark's service runs with what this test checks.
const unitOptions = deployedNodeOptions();
const imageOptions = /^\s+NODE_OPTIONS="([^"]+)"/m.exec(readFileSync(resolve(root, 'Dockerfile'), 'utf8'))?.[1];

/*
 * The deployed service's V8 heap ceiling is set twice (systemd unit, image) and read by bench:backfill from the unit:
 * the three must mean the same runtime, and Node must accept the flags from NODE_OPTIONS.
 */
describe('the deployed NODE_OPTIONS', () => {
  it('are the same in the systemd unit and the image, and size both generations', () => {
    expect(unitOptions).toMatch(/^--max-old-space-size=\d+ --max-semi-space-size=\d+$/);
    expect(imageOptions).toBe(unitOptions);
  });

  it('are accepted by node from NODE_OPTIONS and set the heap limit', () => {
    const probe = spawnSync(process.execPath, ['-e', "console.log(require('node:v8').getHeapStatistics().heap_size_limit)"], {
      env: { ...process.env, NODE_OPTIONS: unitOptions },
      encoding: 'utf8',
    });
    expect(probe.stderr).toBe('');
    const limitMb = Number(probe.stdout.trim()) / 1024 / 1024;
    const ceilingMb = Number(/--max-old-space-size=(\d+)/.exec(unitOptions)?.[1]);
    // The limit is the old generation's ceiling plus the young generation's.
    expect(limitMb).toBeGreaterThanOrEqual(ceilingMb);
    expect(limitMb).toBeLessThan(ceilingMb + 128);
  });
});
