/**
 * The ingest bench's load generator, forked by bench/ingest.ts (`fork(…, { execArgv: ['--import', 'tsx'] })`) so that
 * its timers and sockets have an event loop of their own: not the service's, and not the one of the process that hosts
 * the sandboxes. It answers each `run` message with one `result`.
 *
 * Open loop: request i is due at start + i / rate whatever happened to earlier ones, and its latency is measured from
 * that scheduled time to the end of the response. A request that could not even be sent on time (connections busy,
 * this loop late) is charged for the wait, so a stall shows in the percentiles instead of silently lowering the rate
 * (no coordinated omission).
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { z } from 'zod';

const runMessage = z.object({
  type: z.literal('run'),
  url: z.string().url(),
  path: z.string(),
  rate: z.number().positive(),
  connections: z.number().int().positive(),
  /** Sent before the measured ones, closed loop, not timed (certificate fetch, JIT, page cache). */
  warmup: z.array(z.object({ body: z.string(), headers: z.record(z.string(), z.string()) })),
  events: z.array(z.object({ body: z.string(), headers: z.record(z.string(), z.string()) })),
});

export type RunMessage = z.infer<typeof runMessage>;

export interface RunResult {
  type: 'result';
  /** Per request, ms from its scheduled send time to the end of its response. */
  latencies: number[];
  /** Non-2xx answers and transport errors. */
  failures: number;
  /** Seconds from the first scheduled send to the last response. */
  elapsed: number;
  /** How late the generator itself was, at worst, in ms (a check that the generator kept up). */
  maxSendLag: number;
}

async function run(message: RunMessage): Promise<RunResult> {
  const pool = new Pool(message.url, { connections: message.connections, pipelining: 1 });
  let failures = 0;
  const send = async (event: RunMessage['events'][number]): Promise<void> => {
    try {
      const res = await pool.request({ path: message.path, method: 'POST', body: event.body, headers: event.headers });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode > 299) failures++;
    } catch {
      failures++;
    }
  };
  try {
    for (let i = 0; i < message.warmup.length; i += message.connections) {
      await Promise.all(message.warmup.slice(i, i + message.connections).map(send));
    }
    failures = 0;
    const latencies: number[] = new Array<number>(message.events.length);
    const inFlight: Array<Promise<void>> = [];
    let maxSendLag = 0;
    const start = performance.now();
    for (const [i, event] of message.events.entries()) {
      const scheduled = start + (i * 1000) / message.rate;
      const wait = scheduled - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      maxSendLag = Math.max(maxSendLag, performance.now() - scheduled);
      inFlight.push(send(event).then(() => void (latencies[i] = performance.now() - scheduled)));
    }
    await Promise.all(inFlight);
    return { type: 'result', latencies, failures, elapsed: (performance.now() - start) / 1000, maxSendLag };
  } finally {
    await pool.close();
  }
}

process.on('message', (raw: unknown) => {
  const message = runMessage.parse(raw);
  run(message).then(
    (result) => process.send?.(result),
    (error: unknown) => {
      process.stderr.write(`open-loop generator: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
