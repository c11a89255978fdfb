/**
 * Time as a port: the clocks and the timers, injected together so tests drive time instead of
 * patching globals (test/helpers/manual-clock.ts is the twin). One object, not a clock and a
 * scheduler side by side: a test that moves `now()` by hand but leaves the timers real (or the
 * other way round) describes a world that cannot happen, and everything that already receives a
 * clock gets its timers with it.
 *
 * Two clocks: `now()` is wall time, for what is stored or compared with other processes (record
 * times, lease terms); it may step (NTP, an operator, a VM resumed). `monotonic()` never steps:
 * every interval this process measures for itself (watchdogs, schedules, cache freshness, waits)
 * is a difference of it, and every timer below waits on it, so a step of the wall clock neither
 * fires nor delays one.
 *
 * Timers are ref'd, as Node's are: a pending one keeps the process alive. A background timer
 * that must not (a watchdog, a probe, a periodic read) calls `unref()` on its handle.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Milliseconds from an arbitrary origin, never going back: only differences mean anything. */
  monotonic(): number;
  /** Runs `run` once, `ms` of monotonic time from now (at once, on a later turn, if `ms` <= 0). */
  setTimeout(run: () => void, ms: number): Timer;
  /** Cancels a timer this clock made; undefined or one already fired or cleared: nothing happens. */
  clearTimeout(timer: Timer | undefined): void;
  /**
   * Resolves true after `ms` of monotonic time; false as soon as `signal` aborts (at once if it
   * has), the timer then cleared. Never rejects.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
}

/** A pending timer of a Clock. */
export interface Timer {
  /** The timer no longer keeps the process alive (background work). */
  unref(): unknown;
}

/**
 * The clocks and timers of the process: Date.now(), performance.now() and Node's timers (which
 * libuv runs on the monotonic clock). Each global is looked up at the call, not at load, so jest's
 * fake timers still reach code that has not moved to an injected twin.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (run, ms) => setTimeout(run, Math.max(0, ms)),
  // Only systemClock makes its handles, so each is one of Node's Timeouts.
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
  sleep: (ms, signal) => sleepOn(systemClock, ms, signal),
};

/** Clock.sleep on a clock's own setTimeout/clearTimeout (shared by the twin in test/helpers/). */
export function sleepOn(clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>, ms: number, signal?: AbortSignal) {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const done = (elapsed: boolean) => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(elapsed);
    };
    const onAbort = () => done(false);
    const timer = clock.setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
