import type { Clock, Timer } from '../core/clock.js';

/**
 * Runs `task` every `periodMs` of monotonic time, counted from the start of its previous run,
 * never two runs at once: the next run is armed only once the previous one has settled (that
 * chain is the in-flight guard), so a run that outlasts the period is followed at once by the
 * next, and a slow run delays only this schedule. `task` must not throw (it reports its own
 * failures).
 *
 *   run ──────── period ──────── run ─────────── period ────────── run
 *   run ── (answer later than the period) ──┤run at once ── period ── run
 */
export class Every {
  readonly #clock: Clock;
  readonly #periodMs: number;
  readonly #task: () => Promise<void>;
  #timer: Timer | undefined;
  #stopped = false;

  /** The first run at `firstAtMono` (Clock.monotonic), or at once when that has passed. */
  constructor(clock: Clock, periodMs: number, task: () => Promise<void>, firstAtMono: number) {
    this.#clock = clock;
    this.#periodMs = periodMs;
    this.#task = task;
    this.#arm(firstAtMono);
  }

  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
  }

  #arm(atMono: number): void {
    if (this.#stopped) return;
    const ms = atMono - this.#clock.monotonic();
    if (ms <= 0) {
      void this.#run();
      return;
    }
    this.#timer = this.#clock.setTimeout(() => void this.#run(), ms);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    const startedAt = this.#clock.monotonic();
    try {
      await this.#task();
    } finally {
      this.#arm(startedAt + this.#periodMs);
    }
  }
}
