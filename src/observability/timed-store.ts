import { performance } from 'node:perf_hooks';
import type {
  Claim,
  ClaimRequest,
  ClaimResult,
  IdempotencyRecord,
  IdempotencyStore,
  ListPage,
  ListQuery,
  RecordStore,
} from '../core/idempotency-store.js';
import type { Histogram } from 'prom-client';

/** Every method of both store interfaces: the `operation` label. */
export type StoreOperation = keyof IdempotencyStore | keyof RecordStore;

/** Told about every call, after it ends: how it ended, and the error when it threw. */
export type StoreListener = (operation: StoreOperation, outcome: string, error?: unknown) => void;

/**
 * Times calls into `sqs_worker_idempotency_store_duration_seconds{operation,outcome}` and tells
 * the listener. Outcomes are a small fixed set: claim by its result kind (acquired, takeover,
 * duplicate, in_progress, payload_mismatch, dead_lettered), the conditional updates (renew,
 * complete, fail, markDeadLettered, reopen) as ok or lost, get as found
 * or absent, list and clear as ok, and error whenever the store threw.
 */
class StoreTimer {
  readonly #histogram: Histogram<'operation' | 'outcome'>;
  readonly #listener: StoreListener | undefined;
  /** Label children by `operation outcome`, made on first use (a small fixed set). */
  readonly #series = new Map<string, { observe(value: number): void }>();

  constructor(histogram: Histogram<'operation' | 'outcome'>, listener: StoreListener | undefined) {
    this.#histogram = histogram;
    this.#listener = listener;
  }

  async time<T>(
    operation: StoreOperation,
    call: () => Promise<T>,
    outcome: (value: T) => string,
  ): Promise<T> {
    const started = performance.now();
    let value: T;
    try {
      value = await call();
    } catch (error) {
      this.#record(operation, 'error', started, error);
      throw error;
    }
    this.#record(operation, outcome(value), started);
    return value;
  }

  #record(operation: StoreOperation, outcome: string, started: number, error?: unknown): void {
    const seconds = (performance.now() - started) / 1000;
    const name = `${operation} ${outcome}`;
    let series = this.#series.get(name);
    if (!series) {
      series = this.#histogram.labels({ operation, outcome });
      this.#series.set(name, series);
    }
    series.observe(seconds);
    this.#listener?.(operation, outcome, error);
  }
}

/** A decorator that times every call of an IdempotencyStore (the hot path); see StoreTimer. */
export class TimedIdempotencyStore implements IdempotencyStore {
  readonly #inner: IdempotencyStore;
  readonly #timer: StoreTimer;

  constructor(
    inner: IdempotencyStore,
    histogram: Histogram<'operation' | 'outcome'>,
    listener?: StoreListener,
  ) {
    this.#inner = inner;
    this.#timer = new StoreTimer(histogram, listener);
  }

  claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.#timer.time(
      'claim',
      () => this.#inner.claim(request),
      (result) => (result.kind === 'acquired' && result.takeover ? 'takeover' : result.kind),
    );
  }

  renew(claim: Claim, leaseExpiresAtMs: number, now: number, expiresAt?: number): Promise<boolean> {
    return this.#timer.time('renew', () => this.#inner.renew(claim, leaseExpiresAtMs, now, expiresAt), kept);
  }

  complete(claim: Claim, now: number, result?: string, expiresAt?: number): Promise<boolean> {
    return this.#timer.time('complete', () => this.#inner.complete(claim, now, result, expiresAt), kept);
  }

  fail(claim: Claim, now: number, error: string, deadLetterReason?: string): Promise<boolean> {
    return this.#timer.time('fail', () => this.#inner.fail(claim, now, error, deadLetterReason), kept);
  }

  markDeadLettered(pk: string, copyId: string, now: number): Promise<boolean> {
    return this.#timer.time('markDeadLettered', () => this.#inner.markDeadLettered(pk, copyId, now), kept);
  }

  generation(namespace: string): Promise<number> {
    return this.#timer.time('generation', () => this.#inner.generation(namespace), ok);
  }
}

/** A decorator that times every call of a RecordStore (the operators' reads); see StoreTimer. */
export class TimedRecordStore implements RecordStore {
  readonly #inner: RecordStore;
  readonly #timer: StoreTimer;

  constructor(inner: RecordStore, histogram: Histogram<'operation' | 'outcome'>, listener?: StoreListener) {
    this.#inner = inner;
    this.#timer = new StoreTimer(histogram, listener);
  }

  get(pk: string, now: number): Promise<IdempotencyRecord | undefined> {
    return this.#timer.time(
      'get',
      () => this.#inner.get(pk, now),
      (record) => (record ? 'found' : 'absent'),
    );
  }

  list(query: ListQuery): Promise<ListPage> {
    return this.#timer.time('list', () => this.#inner.list(query), ok);
  }

  clear(
    prefix?: string,
    options?: { readonly force?: boolean; readonly now: number },
  ): Promise<{ readonly deleted: number; readonly skipped: number }> {
    return this.#timer.time('clear', () => this.#inner.clear(prefix, options), ok);
  }

  reopen(pk: string, now: number): Promise<boolean> {
    return this.#timer.time('reopen', () => this.#inner.reopen(pk, now), kept);
  }

  forget(pk: string): Promise<boolean> {
    return this.#timer.time('forget', () => this.#inner.forget(pk), ok);
  }

  bumpGeneration(namespace: string): Promise<number> {
    return this.#timer.time('bumpGeneration', () => this.#inner.bumpGeneration(namespace), ok);
  }
}

function kept(value: boolean): string {
  return value ? 'ok' : 'lost';
}

function ok(): string {
  return 'ok';
}
