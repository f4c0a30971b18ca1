/**
 * `load`, called at most once per `ttlMs`: callers within that time share its last answer, or the
 * call still in flight. A call that fails is not kept, so the next caller tries again. The clock is
 * the process's monotonic one, not the service clock that tests move by hand.
 */
export function cachedFor<T>(ttlMs: number, load: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = performance.now();
    if (!last || now - last.at >= ttlMs) {
      const value = load();
      const entry = { at: now, value };
      last = entry;
      value.catch(() => {
        if (last === entry) last = undefined;
      });
    }
    return last.value;
  };
}
