/**
 * One rate-limit budget per client address for every protected route (docs/security.md):
 * @fastify/rate-limit gives each route a child store of its own, so a client that used up
 * /records had a fresh budget on /seed and HEAD /records. This store is the plugin's `store`
 * option; `child()` returns the same counters, so every route counts against one window per key.
 * Fixed windows, like the plugin's own LocalStore; at most MAX_KEYS clients are remembered
 * (oldest first out), so a spray of addresses cannot grow it without bound.
 */

interface Window {
  current: number;
  startMs: number;
}

type Callback = (error: Error | null, result: { current: number; ttl: number }) => void;

const MAX_KEYS = 10_000;

/** The class the plugin instantiates; every instance made from one call shares its counters. */
export function sharedRateStore(now: () => number = Date.now) {
  const windows = new Map<string, Window>();
  return class SharedRateStore {
    incr(key: string, callback: Callback, timeWindow: number): void {
      const at = now();
      let window = windows.get(key);
      if (window === undefined || window.startMs + timeWindow <= at) {
        window = { current: 0, startMs: at };
      }
      window.current += 1;
      windows.delete(key);
      windows.set(key, window);
      if (windows.size > MAX_KEYS) windows.delete(windows.keys().next().value as string);
      callback(null, { current: window.current, ttl: timeWindow - (at - window.startMs) });
    }

    read(key: string, callback: Callback, timeWindow: number): void {
      const at = now();
      const window = windows.get(key);
      if (window === undefined || window.startMs + timeWindow <= at) {
        callback(null, { current: 0, ttl: 0 });
        return;
      }
      callback(null, { current: window.current, ttl: timeWindow - (at - window.startMs) });
    }

    child(): SharedRateStore {
      return this;
    }
  };
}
