// Loaded into the service child with `--import` by `bench:backfill` when COSELL_BENCH_MEMORY_FILE is set: samples
// process.memoryUsage() every 250 ms and keeps each figure's peak in that file (JSON), so the bench can tell what an RSS
// peak is made of (V8 heap in use, heap reserved, external/ArrayBuffer memory, the rest being code and native).
// COSELL_BENCH_HEAP_SNAPSHOT_MB also writes one heap snapshot (next to the file) the first time heapUsed passes it.
import { writeFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';

const file = process.env.COSELL_BENCH_MEMORY_FILE;
if (file) {
  const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0, samples: 0, startRss: process.memoryUsage().rss };
  const snapshotAt = Number(process.env.COSELL_BENCH_HEAP_SNAPSHOT_MB ?? 'NaN') * 1024 * 1024;
  let snapshot = Number.isFinite(snapshotAt);
  const timer = setInterval(() => {
    const usage = process.memoryUsage();
    for (const name of ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers']) peak[name] = Math.max(peak[name], usage[name]);
    peak.samples += 1;
    writeFileSync(file, JSON.stringify(peak));
    if (snapshot && usage.heapUsed >= snapshotAt) {
      snapshot = false;
      writeHeapSnapshot(`${file}.${process.pid}.heapsnapshot`);
    }
  }, 250);
  timer.unref();
}
