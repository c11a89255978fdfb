import type { RoomGate } from '../core/message-source.js';

/**
 * Back-pressure, counted in messages: how many are in flight (received, not yet settled) and how
 * many were taken in overall (for `consume --count`). A poller asks for at most `room` messages,
 * and asks only once `waitForRoom()` resolves, so MAX_IN_FLIGHT is a hard bound: the in-flight
 * count can only grow by what a receive returns, and a receive never asks for more than fits.
 */
export class Capacity implements RoomGate {
  readonly #max: number;
  readonly #limit: number;
  #inFlight = 0;
  #taken = 0;
  #closed = false;
  #waiters: (() => void)[] = [];

  /**
   * @param max MAX_IN_FLIGHT.
   * @param limit Messages to take in overall before the poller stops asking (default: no limit).
   */
  constructor(max: number, limit = Number.POSITIVE_INFINITY) {
    this.#max = max;
    this.#limit = limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** How many more messages may be taken in now; 0 once closed. */
  get room(): number {
    if (this.#closed) return 0;
    return Math.max(0, Math.min(this.#max - this.#inFlight, this.#limit - this.#taken));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A receive returned these many messages. */
  take(count: number): void {
    this.#inFlight += count;
    this.#taken += count;
  }

  /** One message was settled. */
  release(): void {
    this.#inFlight -= 1;
    this.#wake();
  }

  /** Resolves with the room once there is some, or with 0 once closed. */
  async waitForRoom(): Promise<number> {
    while (this.room <= 0 && !this.#closed) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.room;
  }

  /** No more messages are taken in: every waiter resolves with 0 (shutdown). */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
