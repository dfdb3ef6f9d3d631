import type { FastifyInstance } from 'fastify';

/**
 * A sender's delivery log, by id in the order sent: settled deliveries are forgotten oldest first beyond `max` (so a
 * long-running sandbox does not grow forever) or when cleared; pending ones always stay.
 */
export class DeliveryLog<Entry, LogRecord extends { id: string; status: string }> {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly recordOf: (entry: Entry) => LogRecord,
    private readonly max: number,
  ) {}

  add(entry: Entry): void {
    this.entries.set(this.recordOf(entry).id, entry);
    for (const [id, kept] of this.entries) {
      if (this.entries.size <= this.max) break;
      if (this.recordOf(kept).status !== 'pending') this.entries.delete(id);
    }
  }

  get(id: string): Entry | undefined {
    return this.entries.get(id);
  }

  values(): IterableIterator<Entry> {
    return this.entries.values();
  }

  /** Copies of every record, oldest first. */
  records(): LogRecord[] {
    return [...this.entries.values()].map((entry) => structuredClone(this.recordOf(entry)));
  }

  pendingCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (this.recordOf(entry).status === 'pending') count += 1;
    return count;
  }

  /** Forgets settled deliveries; pending ones keep going. */
  clear(): void {
    for (const [id, entry] of this.entries) if (this.recordOf(entry).status !== 'pending') this.entries.delete(id);
  }
}

/** `GET <path>`: the log (count, pending, records); `DELETE <path>`: forgets its settled deliveries. */
export function deliveryLogRoutes(app: FastifyInstance, path: string, log: Pick<DeliveryLog<never, { id: string; status: string }>, 'records' | 'pendingCount' | 'clear'>): void {
  app.get(path, async () => {
    const value = log.records();
    return { count: value.length, pending: log.pendingCount(), value };
  });
  app.delete(path, async () => {
    log.clear();
    return { pending: log.pendingCount() };
  });
}
