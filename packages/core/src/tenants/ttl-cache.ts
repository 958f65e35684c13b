import type { Clock } from '../observability/clock.js';

export interface TtlCacheOptions {
  /** How long a loaded value is served before it is loaded again; 0 disables caching. */
  ttlMs: number;
  clock: Clock;
  /** Above this many entries, expired ones are swept on the next write. */
  sweepAbove?: number;
}

export interface TtlCache<V> {
  /**
   * The cached value for `key`, or the result of `load` (cached for the TTL).
   * Concurrent callers of one key share one load; a failed load is not cached.
   */
  get(key: string, load: () => Promise<V>): Promise<V>;
  /** Drops the entries whose key or value `match` selects; all entries without it. */
  delete(match?: (key: string, value: V | undefined) => boolean): void;
}

interface Entry<V> {
  promise: Promise<V>;
  value?: V;
  expiresAt: number;
}

/**
 * A small read-through cache whose expiry follows an injected clock, so tests
 * move time instead of sleeping. Values are kept as loaded: callers that hand
 * them out should copy them.
 *
 * @example
 * const cache = createTtlCache<Tenant>({ ttlMs: 60_000, clock: systemClock });
 * const tenant = await cache.get(id, () => loadTenant(id));
 */
export function createTtlCache<V>(options: TtlCacheOptions): TtlCache<V> {
  const entries = new Map<string, Entry<V>>();
  const sweepAbove = options.sweepAbove ?? 10_000;
  const now = () => options.clock.now().getTime();

  return {
    get(key, load) {
      if (options.ttlMs <= 0) return load();
      const current = entries.get(key);
      if (current && now() < current.expiresAt) return current.promise;
      if (entries.size >= sweepAbove) {
        const at = now();
        for (const [k, e] of entries) if (at >= e.expiresAt) entries.delete(k);
      }
      const entry: Entry<V> = { promise: load(), expiresAt: now() + options.ttlMs };
      entries.set(key, entry);
      entry.promise.then(
        (value) => {
          entry.value = value;
        },
        () => {
          if (entries.get(key) === entry) entries.delete(key);
        },
      );
      return entry.promise;
    },
    delete(match) {
      if (!match) {
        entries.clear();
        return;
      }
      for (const [key, entry] of entries) if (match(key, entry.value)) entries.delete(key);
    },
  };
}
