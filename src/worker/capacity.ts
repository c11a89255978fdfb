import type { RoomGate } from '../core/message-source.js';

/** RECEIVE_CONCURRENCY's ceiling when it is derived: see defaultReceiveConcurrency. */
export const MAX_DERIVED_RECEIVE_CONCURRENCY = 10;

/**
 * RECEIVE_CONCURRENCY when unset: ceil(MAX_IN_FLIGHT / SQS_BATCH_SIZE), at most 10. Each receive
 * in flight holds the room it asks for (a batch) until it returns, so more receives than
 * MAX_IN_FLIGHT / batch could only wait for room; fewer leave MAX_IN_FLIGHT idle when a receive's
 * round trip is long next to the handlers' time (one loop moves at most a batch per round trip).
 * Ten long polls move 100 messages per round trip, more than a process handles at a 15 ms round
 * trip, and cost ten requests per SQS_WAIT_TIME_SECONDS on an idle queue.
 */
export function defaultReceiveConcurrency(maxInFlight: number, batchSize: number): number {
  const wanted = Math.ceil(maxInFlight / Math.max(1, batchSize));
  return Math.max(1, Math.min(MAX_DERIVED_RECEIVE_CONCURRENCY, wanted));
}

/**
 * Back-pressure, counted in messages: how many are in flight (received, not yet settled), how many
 * are reserved by receives under way, and how many were taken in overall (for `consume --count`).
 *
 * A message whose handler has returned, and that only waits for its complete and its SQS delete
 * (or, a duplicate, for its delete), may be handed off (`handOff`): it leaves the in-flight count,
 * so its room goes to the next receive at once instead of after the complete's and the delete's
 * batch windows and round trips, and counts as settling until it is settled. A complete that fails
 * is still settled by its delivery (released), just without room. Settling messages are bounded on
 * their own (`maxSettling`, twice MAX_IN_FLIGHT: at the store's and the queue's round trips a fast
 * handler's message spends longer settling than handled, and a bound of MAX_IN_FLIGHT would then
 * be the one that caps throughput); past the bound a message keeps its room until settled. So at
 * most three times MAX_IN_FLIGHT messages are invisible because of this worker at once. Nothing
 * runs twice: the key stays claimed until its complete lands, and a second delivery of the key in
 * this process waits in its lane until the first is settled.
 *
 * MAX_IN_FLIGHT is a hard bound even with several receives in flight: a receive asks for at most
 * what it reserved (`reserve`), a reservation comes out of the room at once, and when the receive
 * returns its poller gives the reservation back (`unreserve`) and hands the messages over (`take`)
 * in the same synchronous step. So in flight + reserved never exceeds MAX_IN_FLIGHT, and in flight
 * alone can only grow by what a receive returns, which is never more than it asked for.
 */
export class Capacity implements RoomGate {
  readonly #max: number;
  readonly #limit: number;
  readonly #maxSettling: number;
  #inFlight = 0;
  #settling = 0;
  #reserved = 0;
  #taken = 0;
  #closed = false;
  #waiters: (() => void)[] = [];

  /**
   * @param max MAX_IN_FLIGHT.
   * @param limit Messages to take in overall before the poller stops asking (default: no limit).
   * @param maxSettling Handed-off messages not yet settled, at most (default: twice max).
   */
  constructor(max: number, limit = Number.POSITIVE_INFINITY, maxSettling = 2 * max) {
    this.#max = max;
    this.#limit = limit;
    this.#maxSettling = maxSettling;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Handed-off messages whose delete is under way (see handOff). */
  get settling(): number {
    return this.#settling;
  }

  /** Room held by receives under way. */
  get reserved(): number {
    return this.#reserved;
  }

  /** How many more messages may be taken in (or reserved) now; 0 once closed. */
  get room(): number {
    if (this.#closed) return 0;
    const free = this.#max - this.#inFlight - this.#reserved;
    return Math.max(0, Math.min(free, this.#limit - this.#taken - this.#reserved));
  }

  /** A receive returned these many messages. */
  take(count: number): void {
    this.#inFlight += count;
    this.#taken += count;
  }

  /**
   * A message in flight has its handler's result and only waits for its complete or its delete: it
   * gives its room back now and counts as settling, unless maxSettling are settling already. True
   * when handed off (then pass `handedOff` to its release).
   */
  handOff(): boolean {
    if (this.#settling >= this.#maxSettling) return false;
    this.#inFlight -= 1;
    this.#settling += 1;
    this.#wake();
    return true;
  }

  /** One message was settled; `handedOff`: it was handed off before (it holds no room). */
  release(handedOff = false): void {
    if (handedOff) this.#settling -= 1;
    else this.#inFlight -= 1;
    this.#wake();
  }

  /** Resolves with the room once there is some, or with 0 once closed. */
  async waitForRoom(): Promise<number> {
    while (this.room <= 0 && !this.#closed) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.room;
  }

  /**
   * Reserves room for one receive: waits for some, then takes at most `full` of it (at least 1).
   * Resolves with the count reserved, or 0 once closed (nothing is then reserved).
   */
  async reserve(full: number): Promise<number> {
    for (;;) {
      // Taken in the caller's synchronous step when there is room: a poller that saw room for a
      // whole batch gets it, not what another receive left of it a microtask later.
      const count = Math.min(full, this.room);
      if (count > 0) {
        this.#reserved += count;
        return count;
      }
      // Checked again after the wait: another receive may have reserved the room meanwhile.
      if ((await this.waitForRoom()) <= 0) return 0;
    }
  }

  /** A receive is over: the room it reserved is free again (its messages are `take`n). */
  unreserve(count: number): void {
    this.#reserved = Math.max(0, this.#reserved - count);
    this.#wake();
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
