import { systemClock, type Clock, type Timer } from '../core/clock.js';
import { StoreUnavailableError } from '../core/errors.js';
import type { Claim, ClaimRequest, ClaimResult, IdempotencyStore } from '../core/idempotency-store.js';
import {
  MAX_BATCH_STATEMENTS,
  statementPk,
  type BatchStatement,
  type StoreBatch,
} from '../core/store-batch.js';

/**
 * An IdempotencyStore that sends the hot path's most frequent writes in batches (the store's
 * StoreBatch port): the short claims of messages on their first receive, and completes. Every
 * other call, and every write a batch could not settle, goes through the wrapped store's single
 * calls, which decide from the record and recognise their own writes (OwnWrite, ownClaim).
 *
 *   claims    one receive's deliveries claim within one turn of the event loop: gathered until
 *             the next turn (setImmediate), so one receive's claims share a request
 *   completes gathered for at most `windowMs` (SQS_BATCH_FLUSH_DELAY); a flush takes along
 *             whatever waits, claims and completes alike, up to MAX_BATCH_STATEMENTS a request
 *
 * Each statement is settled on its own:
 *
 *   applied    the answer the single call gives for that write (acquired with fence 1; true)
 *   refused    the key exists, or the claim changed: the single call, which reads the record (the
 *              batch returned none) and answers from it (duplicate, in progress, own write, ...)
 *   throttled  not written: after `throttleBackoffMs`, the single call (with the SDK's retries)
 *   unknown, or the request failed or timed out as a whole: the single call with the same owner
 *              token, so a statement the batch did apply is recognised as this caller's own write
 *
 * A record key is never twice in one request (DynamoDB rejects the whole request, yet DynamoDB
 * Local has then already written the statements before the duplicate): a second write of a key
 * waiting in the same flush goes through the single call at once. Renewals stay single calls:
 * one per message per lease period at most, too rare to pay for the wait.
 */
export interface BatchingStoreOptions {
  /** Longest a complete waits for others to share its request (SQS_BATCH_FLUSH_DELAY); 0: next turn. */
  readonly windowMs: number;
  /** Longest one batch request may take; then its writes go through the single calls. */
  readonly timeoutMs: number;
  /** Wait before a throttled statement is tried again alone (default 50 ms). */
  readonly throttleBackoffMs?: number;
  /** Statements per request (default and at most MAX_BATCH_STATEMENTS). */
  readonly maxStatements?: number;
  /**
   * After this many answered requests in a row in which every statement failed otherwise than
   * refused or throttled (AccessDenied: a role without PartiQL's IAM actions), batching stops for
   * good and `onGiveUp` is told why (default 3). Requests that fail as a whole (an outage) do not count.
   */
  readonly giveUpAfter?: number;
  readonly onGiveUp?: (reason: string) => void;
  /**
   * How many messages the worker holds now (its in-flight count). When every one of them has its
   * complete waiting, or its batched first claim unanswered (its complete can come only after a
   * round trip, and a later flush takes it), nothing but a new receive's claims could join the
   * request, so it goes on the next turn instead of at the window's end: the window would
   * otherwise add itself to every message's time, and hold its room. Left out: completes wait for
   * the window.
   */
  readonly held?: () => number;
  /**
   * Told after every request: undefined when it was answered, a StoreUnavailableError when it
   * failed or timed out as a whole. The app feeds it to the store's health (readiness), which would
   * otherwise hear of a stalled store only when the single calls after the batch fail too.
   */
  readonly onRequest?: (failure: StoreUnavailableError | undefined) => void;
  /** Whose timers the window, the request timeout and the throttle backoff run on (default the system's). */
  readonly clock?: Clock | undefined;
}

/** What the batches did since the store was made: for tests, logs and the status page. */
export interface BatchingStats {
  /** Batch requests sent, and the statements they carried. */
  requests: number;
  statements: number;
  /** Statements settled by their batch. */
  applied: number;
  /** Writes that went through the single calls, by why. */
  refused: number;
  throttled: number;
  unknown: number;
  /** Requests that failed or timed out as a whole. */
  failedRequests: number;
  /** Writes of a key already in the request being built. */
  duplicates: number;
}

type Why = 'refused' | 'throttled' | 'unknown' | 'duplicate';

interface Pending {
  readonly statement: BatchStatement;
  /** The answer when the batch applied the statement. */
  readonly applied: unknown;
  /** The single-call path of this write. */
  readonly single: (why: Why) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

const DEFAULT_THROTTLE_BACKOFF_MS = 50;
const DEFAULT_GIVE_UP_AFTER = 3;

export class BatchingStore implements IdempotencyStore {
  readonly #inner: IdempotencyStore;
  readonly #batch: StoreBatch;
  readonly #o: Required<Omit<BatchingStoreOptions, 'onGiveUp' | 'held' | 'onRequest' | 'clock'>> &
    Pick<BatchingStoreOptions, 'onGiveUp' | 'held' | 'onRequest'>;
  readonly #clock: Clock;
  #pending: Pending[] = [];
  /** Batched first claims not yet answered (waiting, sent, or gone to the single call). */
  #claiming = 0;
  /** Answered requests in a row whose statements all failed (see giveUpAfter). */
  #useless = 0;
  #gaveUp = false;
  #timer: Timer | undefined;
  #immediate: NodeJS.Immediate | undefined;
  readonly #sending = new Set<Promise<void>>();
  readonly stats: BatchingStats = {
    requests: 0,
    statements: 0,
    applied: 0,
    refused: 0,
    throttled: 0,
    unknown: 0,
    failedRequests: 0,
    duplicates: 0,
  };

  constructor(inner: IdempotencyStore, batch: StoreBatch, options: BatchingStoreOptions) {
    this.#inner = inner;
    this.#batch = batch;
    this.#clock = options.clock ?? systemClock;
    this.#o = {
      throttleBackoffMs: DEFAULT_THROTTLE_BACKOFF_MS,
      giveUpAfter: DEFAULT_GIVE_UP_AFTER,
      ...options,
      maxStatements: Math.min(
        MAX_BATCH_STATEMENTS,
        Math.max(1, options.maxStatements ?? MAX_BATCH_STATEMENTS),
      ),
    };
  }

  /** Batched only with the first-delivery hint: the short claim is the one a batch can carry. */
  claim(request: ClaimRequest): Promise<ClaimResult> {
    if (request.firstDelivery !== true || this.#gaveUp) return this.#inner.claim(request);
    const applied: ClaimResult = {
      kind: 'acquired',
      claim: { pk: request.pk, owner: request.owner, fence: 1, attempt: 1 },
      takeover: false,
    };
    // Refused: a record stands in the way, so the short claim would be refused again; the full one
    // reads it (ALL_OLD). Otherwise the same request: its short claim finds our own write, if any.
    const single = (why: Why) =>
      this.#inner.claim(why === 'refused' ? { ...request, firstDelivery: false } : request);
    this.#claiming += 1;
    const answered = () => void (this.#claiming -= 1);
    const result = this.#add({ kind: 'insert', request }, applied, single, true) as Promise<ClaimResult>;
    // Registered first, so the count is down before the caller's own continuation can complete.
    result.then(answered, answered);
    return result;
  }

  complete(claim: Claim, now: number, result?: string, expiresAt?: number): Promise<boolean> {
    if (this.#gaveUp) return this.#inner.complete(claim, now, result, expiresAt);
    const statement: BatchStatement = {
      kind: 'complete',
      claim,
      now,
      result,
      expiresAt,
    };
    const single = () => this.#inner.complete(claim, now, result, expiresAt);
    return this.#add(statement, true, single, false) as Promise<boolean>;
  }

  renew(claim: Claim, leaseExpiresAtMs: number, now: number, expiresAt?: number): Promise<boolean> {
    return this.#inner.renew(claim, leaseExpiresAtMs, now, expiresAt);
  }

  fail(claim: Claim, now: number, error: string, deadLetterReason?: string): Promise<boolean> {
    return this.#inner.fail(claim, now, error, deadLetterReason);
  }

  markDeadLettered(pk: string, copyId: string, now: number): Promise<boolean> {
    return this.#inner.markDeadLettered(pk, copyId, now);
  }

  generation(namespace: string): Promise<number> {
    return this.#inner.generation(namespace);
  }

  /** Sends whatever waits now; resolves once every request sent so far is answered. Never rejects. */
  async flush(): Promise<void> {
    this.#sendPending();
    await Promise.allSettled(this.#sending);
  }

  #add(
    statement: BatchStatement,
    applied: unknown,
    single: Pending['single'],
    urgent: boolean,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ statement, applied, single, resolve, reject });
      if (this.#pending.length >= this.#o.maxStatements) this.#sendPending();
      else if (urgent || this.#o.windowMs <= 0 || this.#everyHeldWaits())
        this.#immediate ??= setImmediate(() => this.#sendPending());
      else this.#timer ??= this.#clock.setTimeout(() => this.#sendPending(), this.#o.windowMs);
    });
  }

  /** Every message the worker holds has its complete waiting here, or its claim unanswered (see `held`). */
  #everyHeldWaits(): boolean {
    if (this.#o.held === undefined) return false;
    const completes = this.#pending.reduce((n, p) => (p.statement.kind === 'complete' ? n + 1 : n), 0);
    return completes + this.#claiming >= this.#o.held();
  }

  /** Everything waiting, in requests of at most maxStatements distinct keys. */
  #sendPending(): void {
    this.#clock.clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    while (this.#pending.length > 0) {
      const batch: Pending[] = [];
      const keys = new Set<string>();
      while (this.#pending.length > 0 && batch.length < this.#o.maxStatements) {
        const next = this.#pending.shift() as Pending;
        const pk = statementPk(next.statement);
        if (keys.has(pk)) {
          this.stats.duplicates += 1;
          this.#settle(next, 'duplicate');
          continue;
        }
        keys.add(pk);
        batch.push(next);
      }
      if (batch.length === 0) continue;
      const sending = this.#send(batch);
      this.#sending.add(sending);
      void sending.finally(() => this.#sending.delete(sending));
    }
  }

  async #send(batch: readonly Pending[]): Promise<void> {
    this.stats.requests += 1;
    this.stats.statements += batch.length;
    const outcomes = await this.#execute(batch.map((p) => p.statement));
    if (outcomes === undefined) {
      this.stats.failedRequests += 1;
      for (const pending of batch) this.#settle(pending, 'unknown');
      return;
    }
    this.#countUseless(batch.every((_, index) => (outcomes[index] ?? 'unknown') === 'unknown'));
    batch.forEach((pending, index) => {
      const outcome = outcomes[index] ?? 'unknown';
      if (outcome === 'applied') {
        this.stats.applied += 1;
        pending.resolve(pending.applied);
        return;
      }
      this.stats[outcome] += 1;
      this.#settle(pending, outcome);
    });
  }

  /** False once batching has stopped for good (giveUpAfter). */
  get batching(): boolean {
    return !this.#gaveUp;
  }

  #countUseless(useless: boolean): void {
    this.#useless = useless ? this.#useless + 1 : 0;
    if (this.#gaveUp || this.#useless < this.#o.giveUpAfter) return;
    this.#gaveUp = true;
    this.#o.onGiveUp?.(
      `${this.#useless} batch requests in a row had every statement fail (neither refused nor throttled): single calls from now on`,
    );
  }

  /** The request's outcomes; undefined when it failed or timed out as a whole (aborted then). */
  async #execute(statements: readonly BatchStatement[]) {
    const controller = new AbortController();
    let timer: Timer | undefined;
    let failure: StoreUnavailableError | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = this.#clock.setTimeout(() => {
        failure = new StoreUnavailableError(
          `idempotency store batch took longer than ${this.#o.timeoutMs} ms`,
        );
        controller.abort(failure);
        resolve(undefined);
      }, this.#o.timeoutMs);
    });
    const sent = this.#batch.execute(statements, controller.signal).catch((error: unknown) => {
      failure ??= new StoreUnavailableError(`idempotency store batch failed: ${String(error)}`, {
        cause: error,
      });
      return undefined;
    });
    try {
      const outcomes = await Promise.race([sent, timedOut]);
      this.#o.onRequest?.(outcomes === undefined ? failure : undefined);
      return outcomes;
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  /** The single call of one write, after a throttle's backoff; its answer is the caller's. */
  #settle(pending: Pending, why: Why): void {
    const run = () => pending.single(why).then(pending.resolve, pending.reject);
    if (why === 'throttled') this.#clock.setTimeout(() => void run(), this.#o.throttleBackoffMs);
    else void run();
  }
}
