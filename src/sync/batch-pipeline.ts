/**
 * Runs tasks side by side, at most `depth` at once, in the order they are added: `add` resolves once the task has
 * started (waiting while `depth` run), so a producer is held back instead of piling work up. The first failure is
 * thrown by the next `add` or by `drain`, once every task under way has settled: no task outlives the pipeline.
 */
export class BatchPipeline {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly depth: number) {}

  async add(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= Math.max(1, this.depth)) await Promise.race(this.running);
    if (this.failure) await this.drain();
    const run: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Waits for every task under way; throws the first failure, if any. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
    if (this.failure) throw this.failure.error;
  }
}
