import { systemClock, type Clock } from '../core/clock.js';
import type { MessageEvent, ObservableRuntime } from '../core/events.js';
import type { Outcome } from '../core/pipeline.js';
import { OUTCOMES } from './metrics.js';

/** One settled delivery as the status page lists it: never the body or attributes. */
export interface SettledEntry {
  /** Epoch ms when it settled. */
  readonly at: number;
  /** The idempotency key, cut to MAX_KEY_CHARS (producer-controlled: escape it wherever shown). */
  readonly key: string;
  readonly outcome: Outcome;
  /** The reason code, for releases and dead letters. */
  readonly reason: string | undefined;
  /** Receive to settled, ms. */
  readonly durationMs: number;
  readonly receiveCount: number;
}

/** Settled deliveries per outcome for each of the last `windowSeconds` seconds, oldest first. */
export interface PerSecond {
  /** Epoch seconds of the first (oldest) value; the last value is the current, partial second. */
  readonly from: number;
  readonly counts: Readonly<Record<Outcome, readonly number[]>>;
}

/** What the status page reads: the recorder, or a fake in tests. */
export interface ActivitySource {
  /** Messages received and not yet settled (the runtime's own count; 0 before it starts). */
  readonly inFlight: number;
  /** Newest first. */
  recent(): readonly SettledEntry[];
  perSecond(): PerSecond;
  /** Settled deliveries by outcome since the start. */
  totals(): Readonly<Record<Outcome, number>>;
}

/** Producer keys may be long (a message attribute holds up to 256 KB): keep this much of each. */
export const MAX_KEY_CHARS = 256;

export interface RecentActivityOptions {
  readonly clock?: Clock;
  /** How many settled deliveries are kept (default 20). */
  readonly size?: number;
  /** Seconds of per-second counts kept (default 60). */
  readonly windowSeconds?: number;
}

/**
 * The status page's memory of what the runtime did: a ring buffer of the last settled
 * deliveries and per-second counts by outcome, fed by the same `message_settled` events as the
 * metrics (observe.ts). Fixed size whatever the traffic; reads allocate, writes do not.
 */
export class RecentActivity implements ActivitySource {
  readonly #clock: Clock;
  readonly #size: number;
  readonly #window: number;
  readonly #ring: (SettledEntry | undefined)[];
  #next = 0;
  /** Per slot (second % window): the second it holds, and its counts by outcome. */
  readonly #stamps: number[];
  readonly #slots: Record<Outcome, number[]>;
  readonly #totals = zeroes(() => 0);
  #runtime: Pick<ObservableRuntime, 'inFlight'> | undefined;

  constructor(options: RecentActivityOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#size = options.size ?? 20;
    this.#window = options.windowSeconds ?? 60;
    this.#ring = new Array<SettledEntry | undefined>(this.#size).fill(undefined);
    this.#stamps = new Array<number>(this.#window).fill(-1);
    this.#slots = zeroes(() => new Array<number>(this.#window).fill(0));
  }

  /** Subscribes to a runtime's settled deliveries and reads its in-flight count from now on. */
  watch(runtime: ObservableRuntime): void {
    this.#runtime = runtime;
    runtime.on('message_settled', (event) => this.record(event));
  }

  get inFlight(): number {
    return this.#runtime?.inFlight ?? 0;
  }

  record({
    message,
    processed,
    durationMs,
  }: Pick<MessageEvent, 'message' | 'processed' | 'durationMs'>): void {
    const at = this.#clock.now();
    this.#ring[this.#next] = {
      at,
      key: message.key.length > MAX_KEY_CHARS ? `${message.key.slice(0, MAX_KEY_CHARS - 1)}…` : message.key,
      outcome: processed.outcome,
      reason: processed.reason?.code,
      durationMs: Math.round(durationMs),
      receiveCount: message.receiveCount,
    };
    this.#next = (this.#next + 1) % this.#size;
    const second = Math.floor(at / 1000);
    const slot = this.#slotOf(second);
    if (this.#stamps[slot] !== second) {
      this.#stamps[slot] = second;
      for (const outcome of OUTCOMES) this.#slots[outcome][slot] = 0;
    }
    this.#slots[processed.outcome][slot] = (this.#slots[processed.outcome][slot] ?? 0) + 1;
    this.#totals[processed.outcome] += 1;
  }

  recent(): readonly SettledEntry[] {
    const out: SettledEntry[] = [];
    for (let i = 1; i <= this.#size; i++) {
      const entry = this.#ring[(this.#next - i + this.#size) % this.#size];
      if (entry) out.push(entry);
    }
    return out;
  }

  perSecond(): PerSecond {
    const from = Math.floor(this.#clock.now() / 1000) - this.#window + 1;
    const counts = zeroes(() => [] as number[]);
    for (let i = 0; i < this.#window; i++) {
      const second = from + i;
      const slot = this.#slotOf(second);
      const live = this.#stamps[slot] === second;
      for (const outcome of OUTCOMES) counts[outcome].push(live ? (this.#slots[outcome][slot] ?? 0) : 0);
    }
    return { from, counts };
  }

  totals(): Readonly<Record<Outcome, number>> {
    return { ...this.#totals };
  }

  /** A second's slot; seconds before 1970 (fake clocks) too. */
  #slotOf(second: number): number {
    return ((second % this.#window) + this.#window) % this.#window;
  }
}

function zeroes<T>(make: () => T): Record<Outcome, T> {
  return Object.fromEntries(OUTCOMES.map((outcome) => [outcome, make()])) as Record<Outcome, T>;
}
