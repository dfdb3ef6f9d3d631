/**
 * Calls `load` once and hands every caller the same promise, but forgets a failure so the next call tries again:
 * for facts that never change once known (who we are in a CRM), where a transient error must not stick.
 */
export function memoizeSuccess<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (!pending) {
      const attempt = load();
      attempt.catch(() => {
        if (pending === attempt) pending = undefined;
      });
      pending = attempt;
    }
    return pending;
  };
}
