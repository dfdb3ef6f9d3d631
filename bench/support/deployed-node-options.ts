import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The NODE_OPTIONS the deployed service runs with, as the systemd unit sets them (the Dockerfile sets the same; a unit
 * test keeps the two equal), so a benchmark's child service gets the runtime flags production has.
 */
export function deployedNodeOptions(): string {
  const unit = readFileSync(resolve(import.meta.dirname, '../../deploy/systemd/cosell.service'), 'utf8');
  const match = /^Environment="?NODE_OPTIONS=([^"\n]+)"?$/m.exec(unit);
  return match?.[1]?.trim() ?? '';
}
