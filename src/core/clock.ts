/**
 * Time source, injected so tests can move time instead of sleeping. Two clocks: `now()` is wall
 * time, for what is stored or compared with other processes (record times, lease terms); it may
 * step (NTP, an operator, a VM resumed). `monotonic()` never steps: every interval this process
 * measures for itself (watchdogs, schedules, cache freshness, waits) is a difference of it.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Milliseconds from an arbitrary origin, never going back: only differences mean anything. */
  monotonic(): number;
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };
