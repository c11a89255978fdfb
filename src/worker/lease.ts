import type { Clock, Timer } from '../core/clock.js';
import { WorkerError } from '../core/errors.js';
import type { Claim } from '../core/idempotency-store.js';
import type { IdempotencyService, LeaseTerms } from '../core/idempotency.js';
import type { LeaseControl } from '../core/lease.js';
import type { Queue } from '../core/queue.js';
import { Every } from './schedule.js';

/** The lease ran out without a confirmed renewal: the handler's signal fires with this. */
export class LeaseExpiredError extends WorkerError {
  constructor() {
    super('ERR_LEASE_EXPIRED', 'lease ran out: renewals were not confirmed in time');
  }
}

/** Another worker took the key over: the handler's signal fires with this. */
export class LeaseLostError extends WorkerError {
  constructor() {
    super('ERR_LEASE_LOST', 'lease lost: another worker took the key over');
  }
}

/** The clock-skew margin: LEASE_CLOCK_SKEW, else 1 s or a tenth of the visibility timeout. */
export function leaseClockSkewMs(configured: number | undefined, visibilityTimeoutSeconds: number): number {
  return configured ?? Math.min(1000, visibilityTimeoutSeconds * 100);
}

export interface HoldOptions {
  readonly queue: Pick<Queue, 'changeVisibility'>;
  readonly receiptHandle: string;
  readonly idempotency: Pick<IdempotencyService, 'renew'>;
  readonly clock: Clock;
  readonly visibilityTimeoutSeconds: number;
  /** LEASE_CLOCK_SKEW, resolved (leaseClockSkewMs). */
  readonly skewMs: number;
  /** Epoch ms when the message arrived: its visibility started no later. */
  readonly receivedAt: number;
  /** Fires when the worker stops: a delivery waiting on another worker's claim gives up. */
  readonly stopping: AbortSignal;
  /** Abort the handler: the lease is gone or ran out. */
  readonly abort: (reason: Error) => void;
  readonly onLeaseLost: () => void;
  readonly onError: (error: unknown) => void;
  /** The pipeline is about to call the handler (LeaseControl.startHandler). */
  readonly onHandlerStart?: () => void;
}

/**
 * One delivery's hold on its message and its key: two schedules that never wait on each other,
 * each every P = V/3 (V the visibility timeout), one call at a time, on the monotonic clock.
 *
 *   visibility  receipt ── change ── change ── change ──  …  ── end()     visible until sent + V
 *   lease           claim ── renew ── renew ── renew ──  …  ── end()      each asks sent + V + P - M
 *   watchdog        ours until (last confirmed lease) - M: then the handler's signal fires
 *
 * Every lease asked, the claim's and each renewal's, ends V + P - M after it is asked, whatever the
 * visibility does (an SQS stall or a batch flush delay must not cost the lease). The next renewal
 * goes out by max(P, L) later and is answered L after that (L the longest a store call takes), so
 * no healthy handler is aborted while max(P, L) + L < V + P - 2M, i.e. L < 2V/3 - M. The price: a
 * crashed worker's lease outlives its message's visibility by up to about P, and the next receiver
 * waits for it in place. A grant or renewal counts only if its answer arrives, by the wall clock
 * then, before its lease - M: another worker takes over at lease + M on its own clock, so clocks
 * may differ by up to 2M. A renewal refused while the handler runs is a lost lease
 * (LeaseLostError); one that fails or comes late only leaves the watchdog where it is. After
 * settle() the watchdog is off, and both schedules go on until end(): the message stays invisible
 * and the key ours while a finished handler's complete is retried; a renewal refused then is the
 * delivery's own complete/fail, and renewing stops. The bound under which no handler runs twice
 * is in docs/guarantees.md.
 */
export class Hold implements LeaseControl {
  readonly #o: HoldOptions;
  /** P: both schedules' period, and the cap of the waits (the visibility is extended meanwhile). */
  readonly #periodMs: number;
  readonly #visibility: Every;
  #renewals: Every | undefined;
  /** How long each lease asked runs from when it is asked: V + P - M. */
  readonly #leaseMs: number;
  /** Monotonic ms when the message was received: the visibility schedule's first tick is P later. */
  readonly #receivedAt: number;
  #claim: Claim | undefined;
  /** The lease last asked for or confirmed: what the record may carry. */
  #leaseExpiresAt: number | undefined;
  #watchdog: Timer | undefined;
  #settled = false;
  #ended = false;

  constructor(options: HoldOptions) {
    this.#o = options;
    const { clock } = options;
    const visibilityMs = options.visibilityTimeoutSeconds * 1000;
    this.#periodMs = Math.max(100, Math.floor(visibilityMs / 3));
    this.#leaseMs = visibilityMs + this.#periodMs - options.skewMs;
    this.#receivedAt = clock.monotonic() - (clock.now() - options.receivedAt);
    this.#visibility = new Every(
      clock,
      this.#periodMs,
      () => this.#extendVisibility(),
      this.#receivedAt + this.#periodMs,
    );
  }

  terms(): LeaseTerms {
    const now = this.#o.clock.now();
    const leaseExpiresAtMs = now + this.#leaseMs;
    this.#leaseExpiresAt = Math.max(this.#leaseExpiresAt ?? 0, leaseExpiresAtMs);
    return { leaseExpiresAtMs, lapsedBefore: now - this.#o.skewMs };
  }

  granted(claim: Claim, terms: LeaseTerms): boolean {
    if (!this.#confirm(terms.leaseExpiresAtMs)) return false;
    this.#claim = claim;
    const { clock } = this.#o;
    // When this lease was asked for (lease - (V + P - M)), on the monotonic clock.
    const askedAt = clock.monotonic() + (terms.leaseExpiresAtMs - this.#leaseMs - clock.now());
    // The first renewal goes with the first visibility change after that (at most P later, or at
    // once if the grant came later): a crashed worker's lease then outlives its message's
    // visibility by about P, not by P plus however long after the receipt the claim was asked.
    const ticks = Math.max(1, Math.floor((askedAt - this.#receivedAt) / this.#periodMs) + 1);
    const firstAt = this.#receivedAt + ticks * this.#periodMs;
    this.#renewals?.stop();
    this.#renewals = new Every(clock, this.#periodMs, () => this.#renew(), firstAt);
    return true;
  }

  startHandler(): void {
    this.#o.onHandlerStart?.();
  }

  waitForOther(leaseExpiresAtMs: number): Promise<boolean> {
    const { clock, skewMs } = this.#o;
    // Try again just after the other lease can be taken over, or after a period if it is renewed.
    return this.#wait(Math.min(leaseExpiresAtMs + skewMs + 1 - clock.now(), this.#periodMs));
  }

  waitToRetry(attempt: number): Promise<boolean> {
    // 1 s, 2 s, 4 s ... up to a period: the visibility is extended meanwhile.
    return this.#wait(Math.min(1000 * 2 ** Math.min(attempt - 1, 20), this.#periodMs));
  }

  /** Resolves true after `ms` (at least 100), false at once or as soon as the worker stops. */
  #wait(ms: number): Promise<boolean> {
    return this.#o.clock.sleep(Math.max(100, ms), this.#o.stopping);
  }

  settle(): void {
    this.#settled = true;
    this.#o.clock.clearTimeout(this.#watchdog);
  }

  msUntilTakeable(): number {
    const lease = this.#leaseExpiresAt;
    return lease === undefined ? 0 : Math.max(0, lease + this.#o.skewMs - this.#o.clock.now());
  }

  /** The delivery is over: no more visibility changes or renewals. */
  end(): void {
    this.settle();
    this.#ended = true;
    this.#visibility.stop();
    this.#renewals?.stop();
  }

  /**
   * A lease until `leaseExpiresAtMs` was granted or renewed just now: false when less than the
   * margin of it is left by the clock now (it may be someone else's). Otherwise it is ours until
   * that less the margin, and the watchdog (monotonic) is moved there while the handler runs.
   */
  #confirm(leaseExpiresAtMs: number): boolean {
    const { clock, skewMs } = this.#o;
    const leftMs = leaseExpiresAtMs - skewMs - clock.now();
    if (leftMs <= 0) return false;
    this.#leaseExpiresAt = Math.max(this.#leaseExpiresAt ?? 0, leaseExpiresAtMs);
    if (this.#settled) return true;
    clock.clearTimeout(this.#watchdog);
    // settle() clears it: once armed, it fires only while the handler runs.
    this.#watchdog = clock.setTimeout(() => this.#o.abort(new LeaseExpiredError()), leftMs);
    this.#watchdog.unref();
    return true;
  }

  async #extendVisibility(): Promise<void> {
    try {
      await this.#o.queue.changeVisibility({
        receiptHandle: this.#o.receiptHandle,
        visibilityTimeoutSeconds: this.#o.visibilityTimeoutSeconds,
      });
    } catch (error) {
      if (!this.#ended) this.#o.onError(error);
    }
  }

  async #renew(): Promise<void> {
    const claim = this.#claim;
    if (!claim || this.#ended) return;
    const lease = this.#o.clock.now() + this.#leaseMs;
    // Asked for: the record may carry it from now on, whatever the answer.
    this.#leaseExpiresAt = Math.max(this.#leaseExpiresAt ?? 0, lease);
    let kept: boolean;
    try {
      kept = await this.#o.idempotency.renew(claim, lease);
    } catch (error) {
      if (!this.#ended) this.#o.onError(error);
      return;
    }
    if (this.#ended) return;
    if (kept) {
      this.#confirm(lease);
      return;
    }
    this.#renewals?.stop();
    if (this.#settled) return;
    this.#o.onLeaseLost();
    this.#o.abort(new LeaseLostError());
  }
}
