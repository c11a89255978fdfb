import { PermanentError, RetryableError, StoreUnavailableError, describeError } from './errors.js';
import type { Handler } from './handler.js';
import type { Claim } from './idempotency-store.js';
import { payloadHash, type IdempotencyService } from './idempotency.js';
import type { Logger } from './logger.js';
import type { WorkerMessage } from './message.js';
import { reason, type Reason } from './reasons.js';

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
   * the lease is lost. The handler is not awaited past it: the delivery fails as retryable.
   */
  readonly signal: AbortSignal;
  /** Checks the body before anything else; a reason means dead-letter at once. */
  readonly validate?: (message: WorkerMessage) => Reason | undefined;
  readonly now: () => number;
  /** Called once the claim is held, so the runtime can renew it with the message's heartbeat. */
  readonly onClaim?: (claim: Claim) => void;
}

/**
 * One delivery, start to finish: claim the key, run the handler, record the result. Expected
 * outcomes are returned; only programming faults throw.
 */
export async function processMessage(message: WorkerMessage, deps: PipelineDeps): Promise<Processed> {
  const invalid = deps.validate?.(message);
  if (invalid) return { outcome: 'dead_lettered', action: 'dead_letter', reason: invalid };
  const hash = payloadHash(message.body);
  let claimed;
  try {
    claimed = await deps.idempotency.claim(message.key, hash);
  } catch (error) {
    return storeFault(error);
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
    case 'in_progress':
      return {
        outcome: 'retry',
        action: 'release',
        reason: reason('IN_PROGRESS_ELSEWHERE'),
        retryAfterMs: Math.max(0, claimed.leaseExpiresAtMs - deps.now()),
      };
    case 'acquired':
      deps.onClaim?.(claimed.claim);
      return runHandler(message, claimed.claim, hash, deps);
  }
}

async function runHandler(
  message: WorkerMessage,
  claim: Claim,
  hash: string,
  deps: PipelineDeps,
): Promise<Processed> {
  const started = deps.now();
  let result: unknown;
  try {
    deps.signal.throwIfAborted();
    const running = Promise.resolve(
      deps.handler(message, {
        signal: deps.signal,
        logger: deps.logger.child({ attempt: claim.attempt, fence: claim.fence }),
        fencingToken: claim.fence,
        attempt: claim.attempt,
      }),
    );
    result = await untilAborted(running, deps.signal);
  } catch (error) {
    return recordFailure(claim, error, deps.now() - started, deps);
  }
  const handlerMs = deps.now() - started;
  try {
    const kept = await deps.idempotency.complete(claim, result, hash);
    if (!kept) return leaseLost(claim, handlerMs, 'delete');
  } catch (error) {
    // The handler's work is done but not recorded: leave the message; the next delivery finds the
    // lease (lapsed by then) and runs the handler again. Fencing protects downstream writes.
    return { ...storeFault(error), claim, handlerMs };
  }
  return { outcome: 'success', action: 'delete', claim, handlerMs };
}

async function recordFailure(
  claim: Claim,
  error: unknown,
  handlerMs: number,
  deps: PipelineDeps,
): Promise<Processed> {
  const permanent = error instanceof PermanentError;
  const message = describeError(error);
  try {
    const kept = await deps.idempotency.fail(claim, message);
    if (!kept) return { ...leaseLost(claim, handlerMs, 'release'), error };
  } catch (storeError) {
    // The claim stays IN_PROGRESS until its lease lapses; then it can be taken over.
    deps.logger.warn({ err: storeError }, 'could not record the failure in the idempotency store');
  }
  return permanent
    ? {
        outcome: 'dead_lettered',
        action: 'dead_letter',
        reason: reason('PERMANENT_ERROR', message),
        claim,
        handlerMs,
        error,
      }
    : {
        outcome: 'retry',
        action: 'release',
        reason: reason(deps.signal.aborted ? 'ABORTED' : 'HANDLER_ERROR', message),
        claim,
        handlerMs,
        error,
        ...(error instanceof RetryableError && error.retryAfterMs !== undefined
          ? { retryAfterMs: error.retryAfterMs }
          : {}),
      };
}

/**
 * The handler's promise, or a rejection with the signal's reason as soon as it aborts. A handler
 * that ignores its signal keeps running in the background, but the delivery is settled now.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function leaseLost(claim: Claim, handlerMs: number, action: Action): Processed {
  return {
    outcome: 'lease_lost',
    action,
    reason: reason('LEASE_LOST'),
    claim,
    handlerMs,
  };
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
