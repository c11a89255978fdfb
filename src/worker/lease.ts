import type { Clock } from '../core/clock.js';
import { WorkerError } from '../core/errors.js';
import type { Claim } from '../core/idempotency-store.js';
import type { IdempotencyService, LeaseTerms } from '../core/idempotency.js';
import type { LeaseControl } from '../core/lease.js';
import type { Queue } from '../core/queue.js';

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
  readonly queue: Queue;
  readonly receiptHandle: string;
  readonly idempotency: IdempotencyService;
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
}

/**
 * One delivery's hold on its message and its key. With V the visibility timeout and M the skew
 * margin, all on this worker's clock:
 *
 *   visibility  receipt ─────────────── visibleUntil        (extended to beat + V by each heartbeat)
 *   lease       claim ────────── visibleUntil - M            (a taker needs lease + M <= its now)
 *   ours until  ──────── lease - M                           (the watchdog aborts the handler here)
 *
 * So a crashed worker's message and lease lapse together (the next receive takes the key over at
 * once), clocks may differ by up to 2M before a lapsing lease could be held twice, and a grant or a
 * renewal counts only from when its answer arrives. The heartbeat runs every V/3, one beat at a
 * time; a renewal refused after settle() is the delivery's own complete/fail, not a lost lease.
 */
export class Hold implements LeaseControl {
  readonly #o: HoldOptions;
  readonly #visibilityMs: number;
  readonly #timer: NodeJS.Timeout;
  #visibleUntil: number;
  #claim: Claim | undefined;
  /** The lease last asked for or confirmed: what the record may carry. */
  #leaseExpiresAt: number | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #beating = false;
  #settled = false;

  constructor(options: HoldOptions) {
    this.#o = options;
    this.#visibilityMs = options.visibilityTimeoutSeconds * 1000;
    this.#visibleUntil = options.receivedAt + this.#visibilityMs;
    this.#timer = setInterval(() => void this.#beat(), Math.max(100, this.#visibilityMs / 3));
    this.#timer.unref();
  }

  terms(): LeaseTerms {
    const leaseExpiresAtMs = this.#visibleUntil - this.#o.skewMs;
    this.#leaseExpiresAt = Math.max(this.#leaseExpiresAt ?? 0, leaseExpiresAtMs);
    return { leaseExpiresAtMs, lapsedBefore: this.#o.clock.now() - this.#o.skewMs };
  }

  granted(claim: Claim, terms: LeaseTerms): boolean {
    if (this.#o.clock.now() >= terms.leaseExpiresAtMs - this.#o.skewMs) return false;
    this.#claim = claim;
    this.#confirm(terms.leaseExpiresAtMs);
    return true;
  }

  waitForOther(leaseExpiresAtMs: number): Promise<boolean> {
    const { clock, skewMs } = this.#o;
    // Try again just after the other lease can be taken over, or after a third of V if it is renewed.
    return this.#wait(Math.min(leaseExpiresAtMs + skewMs + 1 - clock.now(), this.#visibilityMs / 3));
  }

  waitToRetry(attempt: number): Promise<boolean> {
    // 1 s, 2 s, 4 s ... up to a third of V: the heartbeat keeps the message invisible meanwhile.
    return this.#wait(Math.min(1000 * 2 ** Math.min(attempt - 1, 20), this.#visibilityMs / 3));
  }

  /** Resolves true after `ms` (at least 100), false at once or as soon as the worker stops. */
  #wait(ms: number): Promise<boolean> {
    const { stopping } = this.#o;
    if (stopping.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        stopping.removeEventListener('abort', onStop);
        resolve(value);
      };
      const onStop = () => done(false);
      const timer = setTimeout(() => done(true), Math.max(100, ms));
      stopping.addEventListener('abort', onStop, { once: true });
    });
  }

  settle(): void {
    this.#settled = true;
    clearTimeout(this.#watchdog);
  }

  msUntilTakeable(): number {
    const lease = this.#leaseExpiresAt;
    return lease === undefined ? 0 : Math.max(0, lease + this.#o.skewMs - this.#o.clock.now());
  }

  /** The delivery is over: no more beats. */
  end(): void {
    this.settle();
    clearInterval(this.#timer);
  }

  /** The lease until `leaseExpiresAtMs` is confirmed: it is ours until that less the margin. */
  #confirm(leaseExpiresAtMs: number): void {
    this.#leaseExpiresAt = Math.max(this.#leaseExpiresAt ?? 0, leaseExpiresAtMs);
    if (this.#settled) return;
    clearTimeout(this.#watchdog);
    const ms = leaseExpiresAtMs - this.#o.skewMs - this.#o.clock.now();
    this.#watchdog = setTimeout(() => {
      if (!this.#settled) this.#o.abort(new LeaseExpiredError());
    }, ms);
    this.#watchdog.unref();
  }

  async #beat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    const sentAt = this.#o.clock.now();
    const visibleUntil = sentAt + this.#visibilityMs;
    const lease = visibleUntil - this.#o.skewMs;
    const claim = this.#settled ? undefined : this.#claim;
    if (claim) this.#leaseExpiresAt = Math.max(this.#leaseExpiresAt ?? 0, lease);
    const [visibility, renewal] = await Promise.allSettled([
      this.#o.queue.changeVisibility({
        receiptHandle: this.#o.receiptHandle,
        visibilityTimeoutSeconds: this.#o.visibilityTimeoutSeconds,
      }),
      claim ? this.#o.idempotency.renew(claim, lease) : Promise.resolve(true),
    ]);
    this.#beating = false;
    if (visibility.status === 'fulfilled') this.#visibleUntil = Math.max(this.#visibleUntil, visibleUntil);
    else this.#o.onError(visibility.reason);
    if (!claim || this.#settled) return;
    if (renewal.status === 'rejected') this.#o.onError(renewal.reason);
    else if (renewal.value) this.#confirm(lease);
    else {
      this.#o.onLeaseLost();
      this.#o.abort(new LeaseLostError());
    }
  }
}
