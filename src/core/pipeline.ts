import { PermanentError, RetryableError, StoreUnavailableError, describeError } from './errors.js';
import type { Handler } from './handler.js';
import type { Claim, ClaimResult } from './idempotency-store.js';
import { hashBody, type IdempotencyService } from './idempotency.js';
import type { LeaseControl } from './lease.js';
import { lazyChild, type Logger } from './logger.js';
import type { WorkerMessage } from './message.js';
import { reason, type Reason } from './reasons.js';
import type { DeliveryTrace, TraceStep } from './tracing.js';

/** What became of one delivery; also the `outcome` label of the processed-messages metric. */
export type Outcome = 'success' | 'duplicate' | 'retry' | 'dead_lettered' | 'lease_lost' | 'payload_mismatch';

/** What the runtime must do with the SQS message. */
export type Action =
  /** Done (or already done): delete it. */
  | 'delete'
  /** Not done: leave it (or shorten its visibility) so it is delivered again. */
  | 'release'
  /** Retrying cannot help: send it to the dead-letter queue, then delete it. */
  | 'dead_letter';

export interface Processed {
  readonly outcome: Outcome;
  readonly action: Action;
  /** Why, for release and dead_letter: a stable code (core/reasons.ts) and a log-safe message. */
  readonly reason?: Reason;
  /** For release: when trying again makes sense (the other owner's lease lapses). */
  readonly retryAfterMs?: number;
  /** Present when this delivery held the claim. */
  readonly claim?: Claim;
  /** Time spent in the handler, when it ran. */
  readonly handlerMs?: number;
  /** What the handler threw, when it threw. */
  readonly error?: unknown;
}

export interface PipelineDeps {
  readonly idempotency: IdempotencyService;
  readonly handler: Handler;
  readonly logger: Logger;
  /**
   * This delivery's signal: aborted on handler timeout, on shutdown past SHUTDOWN_TIMEOUT, or when
   * the lease is lost or runs out. The handler is awaited even past it: a key is never released
   * while its handler still runs in this process.
   */
  readonly signal: AbortSignal;
  /** Checks the body before anything else; a reason means dead-letter at once. */
  readonly validate?: (message: WorkerMessage) => Reason | undefined;
  readonly now: () => number;
  /** The delivery's hold on message and key (worker/lease.ts); without it, plain leases and no waiting. */
  readonly lease?: LeaseControl;
  /** The delivery's span (core/tracing.ts): the claim and the handler run in child spans. */
  readonly trace?: DeliveryTrace;
}

/**
 * One delivery, start to finish: claim the key, run the handler, record the result. Expected
 * outcomes are returned; only programming faults throw.
 *
 *   validate ── claim (waits in place while another worker holds the key) ── grant still fresh?
 *     ── handler (until it returns, even once aborted) ── renewals stop ── complete | fail
 */
export async function processMessage(message: WorkerMessage, deps: PipelineDeps): Promise<Processed> {
  // The body is hashed before the schema check reads it: a body too deep to walk safely is
  // refused here (BODY_TOO_DEEP), before anything recursive touches it.
  const body = hashBody(message.rawBody);
  const invalid = message.rejected ?? ('invalid' in body ? body.invalid : deps.validate?.(message));
  if (invalid) return { outcome: 'dead_lettered', action: 'dead_letter', reason: invalid };
  const hash = 'hash' in body ? body.hash : '';
  let claimed: ClaimResult;
  // On its first receive a message's key is most likely new: the store may try a cheaper write
  // first. Not once this delivery has seen the key held elsewhere, nor on a redelivery.
  let firstDelivery = message.receiveCount <= 1;
  for (;;) {
    const terms = deps.lease?.terms();
    const hinted = firstDelivery;
    firstDelivery = false;
    try {
      claimed = await traced(
        deps,
        'claim',
        () => deps.idempotency.claim(message.key, hash, terms, hinted),
        claimSpan,
      );
    } catch (error) {
      // The write may have landed: the record may carry our lease until it lapses.
      return { ...storeFault(error), retryAfterMs: deps.lease?.msUntilTakeable() ?? 0 };
    }
    if (claimed.kind === 'acquired') {
      if (!terms || deps.lease?.granted(claimed.claim, terms) !== false) break;
      return lateGrant(claimed.claim, deps);
    }
    if (claimed.kind !== 'in_progress') break;
    // Another worker holds the key: wait with the message kept invisible, instead of releasing it
    // and burning a receive count each time (which would end in the dead-letter queue).
    if (!(await deps.lease?.waitForOther(claimed.leaseExpiresAtMs))) {
      return {
        outcome: 'retry',
        action: 'release',
        reason: reason('IN_PROGRESS_ELSEWHERE'),
        retryAfterMs: Math.max(0, claimed.leaseExpiresAtMs - deps.now()),
      };
    }
  }
  switch (claimed.kind) {
    case 'duplicate':
      return { outcome: 'duplicate', action: 'delete' };
    case 'payload_mismatch':
      return {
        outcome: 'payload_mismatch',
        action: 'dead_letter',
        reason: reason(
          'PAYLOAD_MISMATCH',
          `key ${message.key} was first seen with a different body (status ${claimed.record.status})`,
        ),
      };
    case 'acquired':
      return runHandler(message, claimed.claim, hash, deps);
  }
}

/**
 * The grant came after the lease it grants had run out: another worker may hold the key by now.
 * The handler does not run; the key is released if it is still ours.
 */
async function lateGrant(claim: Claim, deps: PipelineDeps): Promise<Processed> {
  deps.lease?.settle();
  let released = false;
  try {
    released = await deps.idempotency.fail(claim, 'lease ran out before the grant arrived');
  } catch (error) {
    deps.logger.warn({ err: error }, 'could not release a late grant in the idempotency store');
  }
  return {
    outcome: 'retry',
    action: 'release',
    reason: reason('LEASE_EXPIRED'),
    claim,
    retryAfterMs: released ? 0 : (deps.lease?.msUntilTakeable() ?? 0),
  };
}

async function runHandler(
  message: WorkerMessage,
  claim: Claim,
  hash: string,
  deps: PipelineDeps,
): Promise<Processed> {
  const started = deps.now();
  deps.lease?.startHandler();
  let result: unknown;
  try {
    deps.signal.throwIfAborted();
    // In the handler's span, as the active context: the handler's own spans nest under it.
    result = await traced(deps, 'handler', async () =>
      deps.handler(message, {
        signal: deps.signal,
        logger: lazyChild(deps.logger, { attempt: claim.attempt, fence: claim.fence }),
        fencingToken: claim.fence,
        attempt: claim.attempt,
      }),
    );
  } catch (error) {
    deps.lease?.settle();
    return recordFailure(claim, error, deps.now() - started, deps);
  }
  const handlerMs = deps.now() - started;
  deps.lease?.settle();
  for (let attempt = 1; ; attempt += 1) {
    try {
      const kept = await deps.idempotency.complete(claim, result, hash);
      return kept
        ? { outcome: 'success', action: 'delete', claim, handlerMs }
        : leaseLost(claim, handlerMs, 'delete');
    } catch (error) {
      // The handler's work is done but not recorded. Keep the message (invisible) and try again:
      // complete is conditional on our claim, so a late one never overwrites a newer owner. Only
      // when the worker stops is it left until our lease can be taken over, so the next delivery
      // takes the key at once (and runs the handler again; fencing protects downstream writes).
      const fault = storeFault(error);
      if (!(await deps.lease?.waitToRetry(attempt))) {
        return { ...fault, claim, handlerMs, retryAfterMs: deps.lease?.msUntilTakeable() ?? 0 };
      }
    }
  }
}

async function recordFailure(
  claim: Claim,
  error: unknown,
  handlerMs: number,
  deps: PipelineDeps,
): Promise<Processed> {
  const permanent = error instanceof PermanentError;
  const message = describeError(error);
  let recorded = false;
  try {
    const kept = await deps.idempotency.fail(claim, message);
    if (!kept) return { ...leaseLost(claim, handlerMs, 'release'), error };
    recorded = true;
  } catch (storeError) {
    // The claim stays IN_PROGRESS until its lease lapses; then it can be taken over.
    deps.logger.warn({ err: storeError }, 'could not record the failure in the idempotency store');
  }
  if (permanent) {
    return {
      outcome: 'dead_lettered',
      action: 'dead_letter',
      reason: reason('PERMANENT_ERROR', message),
      claim,
      handlerMs,
      error,
    };
  }
  const retryAfterMs = recorded
    ? error instanceof RetryableError
      ? error.retryAfterMs
      : undefined
    : (deps.lease?.msUntilTakeable() ?? undefined);
  return {
    outcome: 'retry',
    action: 'release',
    reason: reason(deps.signal.aborted ? 'ABORTED' : 'HANDLER_ERROR', message),
    claim,
    handlerMs,
    error,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/** `work` in a child span of the delivery's, when it has one. */
function traced<T>(
  deps: PipelineDeps,
  step: TraceStep,
  work: () => Promise<T>,
  describe?: (result: T) => Record<string, string | number>,
): Promise<T> {
  return deps.trace ? deps.trace.step(step, work, describe) : work();
}

function claimSpan(claimed: ClaimResult): Record<string, string | number> {
  return claimed.kind === 'acquired'
    ? { 'sqs_worker.claim.result': claimed.kind, 'sqs_worker.claim.attempt': claimed.claim.attempt }
    : { 'sqs_worker.claim.result': claimed.kind };
}

function leaseLost(claim: Claim, handlerMs: number, action: Action): Processed {
  return { outcome: 'lease_lost', action, reason: reason('LEASE_LOST'), claim, handlerMs };
}

function storeFault(error: unknown): Processed {
  if (!(error instanceof StoreUnavailableError)) throw error;
  // Fail closed: without the store we cannot know whether the key was handled, so we neither
  // handle nor delete the message.
  return {
    outcome: 'retry',
    action: 'release',
    reason: reason('STORE_UNAVAILABLE', error.message),
    error,
  };
}
