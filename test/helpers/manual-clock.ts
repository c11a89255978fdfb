import { setImmediate as realSetImmediate } from 'node:timers';
import { sleepOn, type Clock, type Timer } from '../../src/core/clock.js';

/** Event-loop turns given to promise callbacks after each timer fires (see ManualClock.advance). */
const TURNS = 3;

interface Pending {
  /** Monotonic ms at which it is due. */
  readonly at: number;
  /** Arming order: timers due at the same instant fire in the order they were set. */
  readonly seq: number;
  readonly run: () => void;
  readonly handle: Timer;
}

/**
 * The Clock's twin for tests: time moves only when the test says so, and timers fire only then, in
 * the order they fall due. Wall and monotonic clocks move together under advance(); stepWall()
 * moves the wall clock alone (NTP, an operator, a VM resumed), which fires and delays no timer,
 * since timers wait on the monotonic clock as systemClock's do.
 *
 *   advanceAsync(ms) lets pending promise callbacks run (an answer given just before may move
 *                    a timer), then for each timer due within ms, earliest first: moves both clocks
 *                    to its instant, fires it, and gives promise callbacks a few event-loop turns
 *                    (what a fired timer starts may arm the next); then moves to the end of the ms.
 *                    What async code under test needs.
 *   advance(ms)      the same at once, without letting promise callbacks run in between (as jest's
 *                    advanceTimersByTime): for tests that only read the clocks, or whose timers'
 *                    callbacks are synchronous.
 *   runUntilIdle()   advance to each next timer until none is left (throws after `maxTimers`:
 *                    a periodic schedule never runs out).
 *   stepWall(ms)     the wall clock steps by ms (either way); monotonic time and timers stay put.
 *
 * Handles are not Node's: unref() does nothing, and nothing here keeps the process alive.
 * Real I/O and Node's own timers are not moved: use it with the in-memory twins.
 */
export class ManualClock implements Clock {
  #wall: number;
  #mono: number;
  #seq = 0;
  readonly #timers = new Map<Timer, Pending>();

  /** `wall`: epoch ms at the start; `monotonic`: the monotonic clock's reading then. */
  constructor(wall = 1_750_000_000_000, monotonic = 0) {
    this.#wall = wall;
    this.#mono = monotonic;
  }

  now(): number {
    return this.#wall;
  }

  monotonic(): number {
    return this.#mono;
  }

  setTimeout(run: () => void, ms: number): Timer {
    const handle: Timer = { unref: () => handle };
    this.#timers.set(handle, { at: this.#mono + Math.max(0, ms), seq: this.#seq++, run, handle });
    return handle;
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer !== undefined) this.#timers.delete(timer);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    return sleepOn(this, ms, signal);
  }

  /** Timers set and neither fired nor cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Milliseconds until the next timer is due; undefined when none is pending. */
  get nextInMs(): number | undefined {
    const next = this.#next(Infinity);
    return next === undefined ? undefined : next.at - this.#mono;
  }

  /** The wall clock steps by `ms` (negative: back); the monotonic clock and the timers do not move. */
  stepWall(ms: number): void {
    this.#wall += ms;
  }

  /** Moves both clocks by `ms`, firing due timers in order, synchronously (see the class comment). */
  advance(ms: number): void {
    const target = this.#mono + Math.max(0, ms);
    for (let next = this.#next(target); next !== undefined; next = this.#next(target)) this.#fire(next);
    this.#moveTo(target);
  }

  /** Moves both clocks by `ms`, firing due timers in order, letting promise callbacks run in between. */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#mono + Math.max(0, ms);
    await turns();
    for (;;) {
      const next = this.#next(target);
      if (next === undefined) {
        this.#moveTo(target);
        await turns();
        if (this.#next(target) === undefined) return;
        continue;
      }
      this.#fire(next);
      await turns();
    }
  }

  /** Fires every timer, each at its instant, until none is left; throws after `maxTimers`. */
  async runUntilIdle(maxTimers = 1000): Promise<void> {
    await turns();
    for (let fired = 0; ; fired += 1) {
      const next = this.#next(Infinity);
      if (next === undefined) return;
      if (fired >= maxTimers) throw new Error(`runUntilIdle: still timers pending after ${maxTimers}`);
      this.#fire(next);
      await turns();
    }
  }

  /** Lets promise callbacks run without moving time. */
  async settle(): Promise<void> {
    await turns();
  }

  #next(until: number): Pending | undefined {
    let best: Pending | undefined;
    for (const t of this.#timers.values()) {
      if (t.at > until) continue;
      if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }

  #fire(timer: Pending): void {
    this.#moveTo(timer.at);
    this.#timers.delete(timer.handle);
    timer.run();
  }

  #moveTo(mono: number): void {
    if (mono <= this.#mono) return;
    this.#wall += mono - this.#mono;
    this.#mono = mono;
  }
}

async function turns(): Promise<void> {
  for (let i = 0; i < TURNS; i += 1) await new Promise<void>((resolve) => realSetImmediate(resolve));
}
