import { systemClock, type Clock } from '../core/clock.js';
import type { MessageEvent, ObservableRuntime } from '../core/events.js';
import type { WorkerMessage } from '../core/message.js';
import type { Outcome } from '../core/pipeline.js';
import { Buckets } from './buckets.js';
import { OUTCOMES } from './metrics.js';
import { redactErrorText } from './redact-error.js';

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

/**
 * A delivery that did not simply succeed (dead-lettered, released for a retry, lease lost, payload
 * mismatch), kept apart from the successes so that a flood of them does not push these out.
 */
export interface FailureEntry {
  readonly at: number;
  /** As in SettledEntry; shown only to viewers who may see keys. */
  readonly key: string;
  readonly outcome: Outcome;
  /** The reason code (core/reasons.ts). */
  readonly reason: string | undefined;
  /** What went wrong: the redacted error the handler threw, else the reason's log-safe message. */
  readonly error: string | undefined;
  readonly durationMs: number;
  readonly receiveCount: number;
}

/** Settled deliveries per outcome for each of the last `windowSeconds` seconds, oldest first. */
export interface PerSecond {
  /** Epoch seconds of the first (oldest) value; the last value is the current, partial second. */
  readonly from: number;
  readonly counts: Readonly<Record<Outcome, readonly number[]>>;
  /** Messages received in each of those seconds (in, against the settled counts: out). */
  readonly received: readonly number[];
}

/** 15 minutes in 10 s buckets, oldest first; the last bucket is the current, partial one. */
export interface History {
  /** Epoch ms of the first bucket's start. */
  readonly from: number;
  readonly bucketSeconds: number;
  readonly received: readonly number[];
  readonly settled: readonly number[];
  /** Settled with an outcome other than success and duplicate. */
  readonly failed: readonly number[];
  /** The largest age at receipt (now minus SentTimestamp) of the bucket's messages, seconds. */
  readonly oldestAgeSeconds: readonly number[];
}

/** Handler run times of the last HANDLER_SAMPLES runs (ms), or null before the first. */
export interface HandlerTimes {
  readonly runs: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

/** The oldest message the worker received lately: its age at receipt. */
export interface OldestAge {
  /** Largest age at receipt among messages received in the last `windowSeconds`, or null: none. */
  readonly seconds: number | null;
  readonly windowSeconds: number;
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
  /** Newest first. */
  failures(): readonly FailureEntry[];
  history(): History;
  handlerTimes(): HandlerTimes;
  oldestAge(): OldestAge;
}

/** Producer keys may be long (a message attribute holds up to 256 KB): keep this much of each. */
export const MAX_KEY_CHARS = 256;

export interface RecentActivityOptions {
  readonly clock?: Clock;
  /** How many settled deliveries are kept (default 20). */
  readonly size?: number;
  /** How many failures are kept, apart from the rest (default 50). */
  readonly failureSize?: number;
  /** Seconds of per-second counts kept (default 60). */
  readonly windowSeconds?: number;
  /** LOG_REDACT: more names whose values are censored in error texts, as in the logs. */
  readonly redact?: readonly string[];
}

/** How many handler run times the percentiles are taken over. */
export const HANDLER_SAMPLES = 1000;
/** History: 90 buckets of 10 s. */
export const HISTORY_BUCKET_SECONDS = 10;
export const HISTORY_BUCKETS = 90;
const HISTORY_FIELDS = ['received', 'settled', 'failed', 'age'] as const;
const NOT_FAILURES: ReadonlySet<Outcome> = new Set<Outcome>(['success', 'duplicate']);

/**
 * The status page's memory of what the runtime did, fed by the same events as the metrics
 * (observe.ts): a ring buffer of the last settled deliveries, another of the last failures (so
 * successes never push a dead letter out), the last handler run times, per-second counts by
 * outcome for the last minute and 10 s buckets for 15 minutes. Fixed size whatever the traffic.
 */
export class RecentActivity implements ActivitySource {
  readonly #clock: Clock;
  readonly #window: number;
  readonly #redact: ReadonlySet<string>;
  readonly #recent: Ring<SettledEntry>;
  readonly #failures: Ring<FailureEntry>;
  readonly #handlerMs: Ring<number>;
  readonly #seconds: Buckets<Outcome | 'received' | 'age'>;
  readonly #history = new Buckets(HISTORY_BUCKET_SECONDS * 1000, HISTORY_BUCKETS, HISTORY_FIELDS);
  readonly #totals = zeroes(() => 0);
  #runtime: Pick<ObservableRuntime, 'inFlight'> | undefined;

  constructor(options: RecentActivityOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#window = options.windowSeconds ?? 60;
    // Names compared as the log redaction compares them (logger.ts): lower case, no - _ . or space.
    this.#redact = new Set((options.redact ?? []).map((n) => n.toLowerCase().replace(/[-_.\s]/g, '')));
    this.#recent = new Ring(options.size ?? 20);
    this.#failures = new Ring(options.failureSize ?? 50);
    this.#handlerMs = new Ring(HANDLER_SAMPLES);
    this.#seconds = new Buckets(1000, this.#window, [...OUTCOMES, 'received', 'age']);
  }

  /** Subscribes to a runtime's receipts and settled deliveries and reads its in-flight count. */
  watch(runtime: ObservableRuntime): void {
    this.#runtime = runtime;
    runtime.on('message_received', (message) => this.received(message));
    runtime.on('message_settled', (event) => this.record(event));
  }

  get inFlight(): number {
    return this.#runtime?.inFlight ?? 0;
  }

  /** A message received: counted as arriving, and its age at receipt (SentTimestamp) noted. */
  received(message: Pick<WorkerMessage, 'sentAt'>): void {
    const at = this.#clock.now();
    this.#seconds.add('received', at);
    this.#history.add('received', at);
    if (message.sentAt !== undefined) {
      const ageSeconds = Math.max(0, at - message.sentAt) / 1000;
      this.#seconds.max('age', at, ageSeconds);
      this.#history.max('age', at, ageSeconds);
    }
  }

  record({
    message,
    processed,
    durationMs,
  }: Pick<MessageEvent, 'message' | 'processed' | 'durationMs'>): void {
    const at = this.#clock.now();
    const key =
      message.key.length > MAX_KEY_CHARS ? `${message.key.slice(0, MAX_KEY_CHARS - 1)}…` : message.key;
    const common = {
      at,
      key,
      outcome: processed.outcome,
      reason: processed.reason?.code,
      durationMs: Math.round(durationMs),
      receiveCount: message.receiveCount,
    };
    this.#recent.push(common);
    if (!NOT_FAILURES.has(processed.outcome)) {
      this.#failures.push({ ...common, error: this.#errorText(message, processed) });
      this.#history.add('failed', at);
    }
    if (processed.handlerMs !== undefined) this.#handlerMs.push(processed.handlerMs);
    this.#seconds.add(processed.outcome, at);
    this.#history.add('settled', at);
    this.#totals[processed.outcome] += 1;
  }

  recent(): readonly SettledEntry[] {
    return this.#recent.newestFirst();
  }

  failures(): readonly FailureEntry[] {
    return this.#failures.newestFirst();
  }

  perSecond(): PerSecond {
    const { from, values } = this.#seconds.series(this.#clock.now());
    const counts = zeroes(() => [] as number[]);
    for (const outcome of OUTCOMES) counts[outcome] = values[outcome];
    return { from: from / 1000, counts, received: values.received };
  }

  history(): History {
    const { from, values } = this.#history.series(this.#clock.now());
    return {
      from,
      bucketSeconds: HISTORY_BUCKET_SECONDS,
      received: values.received,
      settled: values.settled,
      failed: values.failed,
      oldestAgeSeconds: values.age.map((v) => Math.round(v * 10) / 10),
    };
  }

  handlerTimes(): HandlerTimes {
    const sorted = [...this.#handlerMs.newestFirst()].sort((a, b) => a - b);
    return { runs: sorted.length, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
  }

  oldestAge(): OldestAge {
    const { age, received } = this.#seconds.series(this.#clock.now()).values;
    const any = received.some((n) => n > 0);
    return { seconds: any ? Math.round(Math.max(...age) * 10) / 10 : null, windowSeconds: this.#window };
  }

  totals(): Readonly<Record<Outcome, number>> {
    return { ...this.#totals };
  }

  #errorText(message: WorkerMessage, processed: MessageEvent['processed']): string | undefined {
    if (processed.error !== undefined) return redactErrorText(processed.error, message, this.#redact);
    return processed.reason?.message;
  }
}

/** A fixed-size ring buffer; reads allocate, writes do not. */
class Ring<T> {
  readonly #items: (T | undefined)[];
  #next = 0;

  constructor(size: number) {
    this.#items = new Array<T | undefined>(size).fill(undefined);
  }

  push(item: T): void {
    if (this.#items.length === 0) return;
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.#items.length;
  }

  newestFirst(): T[] {
    const size = this.#items.length;
    const out: T[] = [];
    for (let i = 1; i <= size; i++) {
      const item = this.#items[(this.#next - i + size) % size];
      if (item !== undefined) out.push(item);
    }
    return out;
  }
}

/** The nearest-rank percentile of sorted values, or null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return Math.round((sorted[rank - 1] ?? 0) * 10) / 10;
}

function zeroes<T>(make: () => T): Record<Outcome, T> {
  return Object.fromEntries(OUTCOMES.map((outcome) => [outcome, make()])) as Record<Outcome, T>;
}
