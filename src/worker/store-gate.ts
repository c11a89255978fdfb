import { EventEmitter } from 'node:events';
import type { Clock, Timer } from '../core/clock.js';
import { StoreUnavailableError } from '../core/errors.js';
import type { ObservableStoreCircuit, StoreCircuitEvents } from '../core/events.js';
import type { Claim, ClaimRequest, ClaimResult, IdempotencyStore } from '../core/idempotency-store.js';
import { failurePauseMs, type FailureBackoff, type ReceiveGate } from '../core/message-source.js';

/**
 * StoreUnavailableErrors in a row (claim, renew, complete, fail) that open the circuit. Each is
 * already a call that used all of the SDK's attempts, so one is a blip, not an outage; three in a
 * row are. Under load an outage fails every in-flight delivery within the same second, so the
 * circuit opens within the first receive's batch; an idle worker's lone message spends at most
 * three receives. Any call that succeeds in between resets the count (a lone poison key, such as
 * one DynamoDB refuses as too long, never opens it while other keys succeed).
 */
export const FAILURES_TO_OPEN = 3;
/** Probes while open: 1 s after opening, then doubling up to 30 s (failurePauseMs). */
export const PROBE_BACKOFF: FailureBackoff = { baseMs: 1000, maxMs: 30_000 };
/** A probe not answered within this counts as failed (the SDK's own timeouts usually end it first). */
export const PROBE_TIMEOUT_MS = 5000;

export interface StoreCircuitOptions {
  /** One cheap read of the store, e.g. `store.generation(namespace)`; resolving means it answers. */
  readonly probe: () => Promise<unknown>;
  readonly clock: Clock;
  readonly failuresToOpen?: number;
  readonly probeBackoff?: FailureBackoff;
  readonly probeTimeoutMs?: number;
}

/**
 * A circuit breaker on the idempotency store, and the gate the message sources wait at before each
 * receive. Every receive spends one of a message's receive counts (the redrive policy's
 * maxReceiveCount), and a delivery the store cannot serve only releases it (STORE_UNAVAILABLE):
 * receiving through a long outage would walk good messages into the dead-letter queue.
 *
 *   closed --FAILURES_TO_OPEN failures in a row--> open (no receive starts; deliveries in flight
 *   go on) --probe answers, or a store call made while open succeeds--> closed (on trial: until a
 *   store call succeeds, one failure reopens it at once, and the probes' backoff goes on from
 *   where it was instead of starting again at 1 s).
 *
 * Probes are spaced by PROBE_BACKOFF and run one at a time. The outcome of a call counts only in
 * the state it started in: a call that began before a change (an answer arriving late) says
 * nothing about the store since. Timers are unref'd; stop() ends them.
 */
export class StoreCircuit
  extends EventEmitter<StoreCircuitEvents>
  implements ReceiveGate, ObservableStoreCircuit
{
  readonly #o: StoreCircuitOptions;
  readonly #failuresToOpen: number;
  /** Bumped at every change of state: outcomes of calls begun in an older epoch are ignored. */
  #epoch = 0;
  #open = false;
  #openedAt: number | undefined;
  /** When it opened, on the monotonic clock: what pausedMs counts from. */
  #openedAtMono = 0;
  #failuresInARow = 0;
  /** Closed by a probe and no call has succeeded since: one failure reopens. */
  #onTrial = false;
  /** Probes made since a store call last succeeded: the exponent of their backoff. */
  #probes = 0;
  #lastError: unknown;
  #timer: Timer | undefined;
  #closedForGood = false;
  #waiters = new Set<() => void>();

  constructor(options: StoreCircuitOptions) {
    super();
    this.#o = options;
    this.#failuresToOpen = options.failuresToOpen ?? FAILURES_TO_OPEN;
  }

  /** True while receiving is paused because the store fails. */
  get open(): boolean {
    return this.#open;
  }

  /** Epoch ms at which it opened, while open. */
  get openedAt(): number | undefined {
    return this.#openedAt;
  }

  /** The error that opened it (or the latest probe's), while open. */
  get lastError(): unknown {
    return this.#open ? this.#lastError : undefined;
  }

  get paused(): boolean {
    return this.#open;
  }

  /** Resolves at once while closed; while open, once it closes or the signal aborts. */
  async whenReceiving(signal: AbortSignal): Promise<void> {
    if (!this.#open || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.#waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** The store as the pipeline should use it: every claim, renew, complete and fail reports here. */
  watch(store: IdempotencyStore): IdempotencyStore {
    return new WatchedStore(store, this);
  }

  /** Ends the probes (shutdown); waiters are let go. */
  stop(): void {
    this.#closedForGood = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake();
  }

  /** The current epoch, for a call starting now (see report). */
  get epoch(): number {
    return this.#epoch;
  }

  /** A store call begun in `epoch` ended: `error` when it threw. */
  report(epoch: number, error?: unknown): void {
    if (epoch !== this.#epoch || this.#closedForGood) return;
    if (error === undefined) {
      this.#succeeded();
      return;
    }
    // Other errors (a corrupt record, a bug) are about one message, not about the store.
    if (!(error instanceof StoreUnavailableError)) return;
    this.#lastError = error;
    this.#failuresInARow += 1;
    if (!this.#open && (this.#onTrial || this.#failuresInARow >= this.#failuresToOpen)) this.#trip();
  }

  #succeeded(): void {
    this.#failuresInARow = 0;
    this.#onTrial = false;
    this.#probes = 0;
    if (this.#open) this.#resume('call');
  }

  #trip(): void {
    this.#epoch += 1;
    this.#open = true;
    this.#onTrial = false;
    this.#openedAt = this.#o.clock.now();
    this.#openedAtMono = this.#o.clock.monotonic();
    this.emit('store_circuit_opened', this.#failuresInARow, this.#lastError);
    this.#scheduleProbe();
  }

  #resume(by: 'probe' | 'call'): void {
    const pausedMs = this.#openedAt === undefined ? 0 : this.#o.clock.monotonic() - this.#openedAtMono;
    this.#epoch += 1;
    this.#open = false;
    this.#openedAt = undefined;
    this.#failuresInARow = 0;
    this.#onTrial = by === 'probe';
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.emit('store_circuit_closed', pausedMs, by);
    this.#wake();
  }

  #scheduleProbe(): void {
    if (this.#closedForGood) return;
    const delayMs = failurePauseMs(this.#probes + 1, this.#o.probeBackoff ?? PROBE_BACKOFF);
    this.#timer = this.#o.clock.setTimeout(() => void this.#probe(), delayMs);
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    this.#timer = undefined;
    const epoch = this.#epoch;
    this.#probes += 1;
    const { clock, probeTimeoutMs } = this.#o;
    const error = await withTimeout(clock, this.#o.probe(), probeTimeoutMs ?? PROBE_TIMEOUT_MS);
    if (epoch !== this.#epoch || !this.#open || this.#closedForGood) return;
    if (error === undefined) {
      this.#resume('probe');
      return;
    }
    this.#lastError = error;
    this.emit('store_probe_failed', error);
    this.#scheduleProbe();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}

/** Undefined when `work` resolves within `ms`; otherwise what it threw, or a timeout error. */
async function withTimeout(clock: Clock, work: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: Timer | undefined;
  const timedOut = new Promise<unknown>((resolve) => {
    timer = clock.setTimeout(
      () => resolve(new StoreUnavailableError(`store probe did not answer within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([
      work.then(
        () => undefined,
        (error: unknown) => error ?? new Error('the probe rejected with nothing'),
      ),
      timedOut,
    ]);
  } finally {
    clock.clearTimeout(timer);
  }
}

/** The decorator StoreCircuit.watch returns: reports the end of each hot-path call. */
class WatchedStore implements IdempotencyStore {
  readonly #inner: IdempotencyStore;
  readonly #circuit: StoreCircuit;

  constructor(inner: IdempotencyStore, circuit: StoreCircuit) {
    this.#inner = inner;
    this.#circuit = circuit;
  }

  claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.#watched(() => this.#inner.claim(request));
  }

  renew(claim: Claim, leaseExpiresAtMs: number, now: number, expiresAt?: number): Promise<boolean> {
    return this.#watched(() => this.#inner.renew(claim, leaseExpiresAtMs, now, expiresAt));
  }

  complete(claim: Claim, now: number, result?: string, expiresAt?: number): Promise<boolean> {
    return this.#watched(() => this.#inner.complete(claim, now, result, expiresAt));
  }

  fail(claim: Claim, now: number, error: string, deadLetterReason?: string): Promise<boolean> {
    return this.#watched(() => this.#inner.fail(claim, now, error, deadLetterReason));
  }

  markDeadLettered(pk: string, copyId: string, now: number): Promise<boolean> {
    return this.#watched(() => this.#inner.markDeadLettered(pk, copyId, now));
  }

  /** Not watched: the completed-key cache's read, not part of a delivery's writes. */
  generation(namespace: string): Promise<number> {
    return this.#inner.generation(namespace);
  }

  async #watched<T>(call: () => Promise<T>): Promise<T> {
    const epoch = this.#circuit.epoch;
    try {
      const value = await call();
      this.#circuit.report(epoch);
      return value;
    } catch (error) {
      this.#circuit.report(epoch, error ?? new Error('undefined thrown'));
      throw error;
    }
  }
}
