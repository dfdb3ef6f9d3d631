// Loaded into the service child with `--import` by `bench:backfill` when COSELL_BENCH_MEMORY_FILE is set: samples
// process.memoryUsage() every 250 ms and keeps each figure's peak in that file (JSON), so the bench can tell what an RSS
// peak is made of (V8 heap in use, heap reserved, external/ArrayBuffer memory, the rest being code and native).
// `liveAfterMajorGc`: the largest heap in use right after a full (mark-compact) collection, i.e. what was really live
// rather than garbage not yet collected. `series` keeps one sample a second for a closer look.
// COSELL_BENCH_HEAP_SNAPSHOT_MB also writes one heap snapshot (next to the file) the first time heapUsed passes it.
import { writeFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';

const file = process.env.COSELL_BENCH_MEMORY_FILE;
if (file) {
  const mb = (bytes) => Math.round(bytes / 1024 / 1024);
  const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0, liveAfterMajorGc: 0, majorGcs: 0, samples: 0, startRss: process.memoryUsage().rss, series: [] };
  const started = Date.now();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      peak.majorGcs += 1;
      peak.liveAfterMajorGc = Math.max(peak.liveAfterMajorGc, process.memoryUsage().heapUsed);
    }
  }).observe({ entryTypes: ['gc'] });
  const snapshotAt = Number(process.env.COSELL_BENCH_HEAP_SNAPSHOT_MB ?? 'NaN') * 1024 * 1024;
  let snapshot = Number.isFinite(snapshotAt);
  const timer = setInterval(() => {
    const usage = process.memoryUsage();
    for (const name of ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers']) peak[name] = Math.max(peak[name], usage[name]);
    peak.samples += 1;
    if (peak.samples % 4 === 0) peak.series.push([Math.round((Date.now() - started) / 1000), mb(usage.rss), mb(usage.heapUsed), mb(usage.heapTotal), mb(usage.arrayBuffers)]);
    writeFileSync(file, JSON.stringify(peak));
    if (snapshot && usage.heapUsed >= snapshotAt) {
      snapshot = false;
      writeHeapSnapshot(`${file}.${process.pid}.heapsnapshot`);
    }
  }, 250);
  timer.unref();
}
