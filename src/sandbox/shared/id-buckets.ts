/** Record ids grouped by an index key (the sandboxes' value indexes): a bucket disappears with its last id. */
export class IdBuckets {
  private readonly buckets = new Map<string, Set<string>>();

  add(key: string, id: string): void {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(key, bucket);
    }
    bucket.add(id);
  }

  remove(key: string, id: string): void {
    const bucket = this.buckets.get(key);
    if (!bucket) return;
    bucket.delete(id);
    if (bucket.size === 0) this.buckets.delete(key);
  }

  ids(key: string | undefined): ReadonlySet<string> {
    return (key === undefined ? undefined : this.buckets.get(key)) ?? new Set();
  }
}
