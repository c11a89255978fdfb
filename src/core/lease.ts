import type { Claim } from './idempotency-store.js';
import type { LeaseTerms } from './idempotency.js';

/**
 * A delivery's hold on its message and its key, as the pipeline sees it; worker/lease.ts keeps it
 * (visibility, lease, their schedules, watchdog). Every answer is checked against the clock when it
 * arrives, not when the question was asked.
 */
export interface LeaseControl {
  /**
   * The lease to ask for when claiming now: it ends V + P - M from now (V the visibility timeout,
   * P = V/3, M the clock-skew margin), like every renewal's, whatever the message's visibility.
   */
  terms(): LeaseTerms;
  /**
   * The store granted a claim on these terms. false when the grant came too late to use: the lease
   * may already be someone else's. Otherwise renewals and the watchdog start.
   */
  granted(claim: Claim, terms: LeaseTerms): boolean;
  /**
   * Waits, keeping the message invisible, until a claim that another worker holds until
   * `leaseExpiresAtMs` is worth trying again; false when the worker is stopping (release instead).
   */
  waitForOther(leaseExpiresAtMs: number): Promise<boolean>;
  /**
   * The pipeline calls the handler right after this (HANDLER_TIMEOUT counts from here, not from
   * the wait for another worker's claim).
   */
  startHandler(): void;
  /**
   * The handler is done: the watchdog stops, and a renewal refused after this is the delivery's
   * own complete/fail, not a lost lease. Visibility and renewals go on until the delivery ends.
   */
  settle(): void;
  /**
   * Waits before the `attempt`th retry of recording a finished handler's result, keeping the
   * message invisible meanwhile; false when the worker is stopping (release instead).
   */
  waitToRetry(attempt: number): Promise<boolean>;
  /** Milliseconds until a record that may still carry this delivery's lease can be taken over. */
  msUntilTakeable(): number;
}
