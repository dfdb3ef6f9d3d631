import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stopWithin } from '../../../src/cli/signals.ts';

function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('stopWithin', () => {
  afterEach(() => vi.restoreAllMocks());

  it('ends the process, naming the step, when the graceful stop hangs past the grace period', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const { logger, lines } = capturingLogger();
    void stopWithin(() => new Promise<void>(() => undefined), logger, () => 'stopping the engine', 50);
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
    expect(lines.join('')).toContain('stopping the engine');
  });

  it('ends the process on a second SIGTERM while stopping', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const { logger, lines } = capturingLogger();
    void stopWithin(() => new Promise<void>(() => undefined), logger, () => 'closing the store', 60_000);
    process.emit('SIGTERM', 'SIGTERM');
    expect(exit).toHaveBeenCalledWith(1);
    expect(lines.join('')).toMatch(/second SIGTERM/);
  });

  it('returns and leaves no handler behind when the stop finishes in time', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const before = process.listenerCount('SIGTERM');
    await stopWithin(async () => undefined, capturingLogger().logger, () => 'x', 50);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(exit).not.toHaveBeenCalled();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
