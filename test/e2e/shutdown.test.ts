import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';

/*
 * A stopping service must exit even when a CRM it streams from is gone: a process manager waits for it, then kills it.
 * The bound below only keeps a hung run from hanging the suite; it is not a speed goal.
 */

const EXIT_BOUND_MS = 30_000;

describe('graceful shutdown', () => {
  let h: SalesforceSyncHarness;

  beforeAll(async () => {
    h = await SalesforceSyncHarness.start({ mode: 'child', logLevel: 'error' });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('cosell start exits on SIGTERM while Salesforce (its CDC stream) is unreachable', async () => {
    await h.waitForIdle();
    await h.sf.close();
    // Let the stream notice: its long poll fails and faye starts retrying.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const child = h.process!.child;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const outcome = await Promise.race([exited.then((code) => ({ code })), new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), EXIT_BOUND_MS))]);
    expect(outcome).toEqual({ code: 0 });
  }, EXIT_BOUND_MS + 20_000);
});
