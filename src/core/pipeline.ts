import { PermanentError, RetryableError, StoreUnavailableError, describeError } from './errors.js';
import type { Handler } from './handler.js';
import type { Claim, ClaimResult, IdempotencyRecord } from './idempotency-store.js';
import { hashBody, type IdempotencyService, type LeaseTerms } from './idempotency.js';
import type { LeaseControl } from './lease.js';
import { lazyChild, type Logger } from './logger.js';
import type { WorkerMessage } from './message.js';
import { REASONS, reason, type Reason, type ReasonCode } from './reasons.js';
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
  readonly retryAfterMs?: number | undefined;
  /** Present when this delivery held the claim. */
  readonly claim?: Claim;
  /** Time spent in the handler, when it ran. */
  readonly handlerMs?: number;
  /** What the handler threw, when it threw. */
  readonly error?: unknown;
  /** dead_letter: the pk of the key's DEAD_LETTERED record, on which the copy's id is noted. */
  readonly recordedDeadLetter?: string | undefined;
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
  /**
   * The handler returned and its result is about to be recorded (complete): called once, before
   * the write. The runtime gives the message's room to the next receive here (its hand-off).
   */
  readonly onRecording?: () => void;
}

/** How often a claim whose answer was lost (StoreUnavailableError) is tried again in place. */
export const CLAIM_RETRIES = 2;

/**
 * One delivery, start to finish: claim the key, run the handler, record the result. Expected
 * outcomes are returned; only programming faults throw.
 *
 *   validate ── claim (waits in place while another worker holds the key) ── grant still fresh?
 *     ── handler (until it returns, even once aborted) ── renewals stop ── complete | fail
 *
 * A message that is dead-lettered (invalid, or its handler threw PermanentError) leaves its key
 * DEAD_LETTERED before the copy is sent: a redelivery (its delete failed) never runs the handler,
 * and only sends the copy again when the record does not say the dead-letter queue has one.
 */
export async function processMessage(message: WorkerMessage, deps: PipelineDeps): Promise<Processed> {
  // The body is hashed before the schema check reads it: a body too deep to walk safely is
  // refused here (BODY_TOO_DEEP), before anything recursive touches it.
  const body = hashBody(message.rawBody);
  const invalid = message.rejected ?? ('invalid' in body ? body.invalid : deps.validate?.(message));
  if (invalid && !('hash' in body)) return deadLetter(invalid);
  const hash = 'hash' in body ? body.hash : '';
  const claimed = await claimKey(message, hash, deps);
  if ('outcome' in claimed) {
    // Without the store an invalid message is still dead-lettered: it can never succeed.
    return invalid && claimed.reason?.code === 'STORE_UNAVAILABLE' ? deadLetter(invalid) : claimed;
  }
  switch (claimed.kind) {
    case 'duplicate':
      return { outcome: 'duplicate', action: 'delete' };
    case 'dead_lettered':
      return alreadyDeadLettered(claimed.record);
    case 'payload_mismatch':
      return invalid
        ? deadLetter(invalid)
        : deadLetter(
            reason(
              'PAYLOAD_MISMATCH',
              `key ${message.key} was first seen with a different body (status ${claimed.record.status})`,
            ),
            'payload_mismatch',
          );
    case 'acquired':
      return invalid
        ? recordDeadLetter(claimed.claim, invalid, deps)
        : runHandler(message, claimed.claim, hash, deps);
  }
}

/**
 * Claims the key: waits in place (message kept invisible) while another worker holds it, and
 * tries again in place, with the same owner token, when an answer was lost: the write may have
 * landed, and the store recognises its own claim by that token (see IdempotencyStore). Resolves
 * with the store's answer, or with what to do with the message instead.
 */
async function claimKey(
  message: WorkerMessage,
  hash: string,
  deps: PipelineDeps,
): Promise<Exclude<ClaimResult, { kind: 'in_progress' }> | Processed> {
  const owner = deps.idempotency.ownerToken();
  // On its first receive a message's key is most likely new: the store may try a cheaper write
  // first. Not once this delivery has seen the key held elsewhere, nor on a redelivery.
  let firstDelivery = message.receiveCount <= 1;
  let lost = 0;
  let asked: LeaseTerms | undefined;
  for (;;) {
    const fresh = deps.lease?.terms();
    // After a lost answer, the lease asked for stays the first one: the record may carry it.
    const terms = fresh && asked ? { ...fresh, leaseExpiresAtMs: asked.leaseExpiresAtMs } : fresh;
    const hinted = firstDelivery;
    firstDelivery = false;
    let claimed: ClaimResult;
    try {
      claimed = await traced(
        deps,
        'claim',
        () => deps.idempotency.claim(message.key, hash, terms, hinted, owner),
        claimSpan,
      );
    } catch (error) {
      const fault = storeFault(error);
      lost += 1;
      asked ??= terms;
      if (lost <= CLAIM_RETRIES && (await deps.lease?.waitToRetry(lost))) continue;
      // The write may have landed: the record may carry our lease until it lapses.
      return { ...fault, retryAfterMs: deps.lease?.msUntilTakeable() ?? 0 };
    }
    if (claimed.kind === 'acquired') {
      if (!terms || deps.lease?.granted(claimed.claim, terms) !== false) return claimed;
      return lateGrant(claimed.claim, deps);
    }
    if (claimed.kind !== 'in_progress') return claimed;
    asked = undefined;
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
}

function deadLetter(why: Reason, outcome: Outcome = 'dead_lettered'): Processed {
  return { outcome, action: 'dead_letter', reason: why };
}

/**
 * The key was dead-lettered by an earlier delivery of this message, whose delete then failed: the
 * handler never runs again. When the record names the copy the dead-letter queue accepted, this
 * copy is deleted as a duplicate; otherwise the copy is sent (again) with the recorded reason.
 */
function alreadyDeadLettered(record: IdempotencyRecord): Processed {
  if (record.deadLetterId !== undefined) return { outcome: 'duplicate', action: 'delete' };
  const code = record.deadLetterReason;
  const why = code !== undefined && code in REASONS ? (code as ReasonCode) : 'PERMANENT_ERROR';
  return {
    outcome: 'dead_lettered',
    action: 'dead_letter',
    reason: reason(why, record.lastError ?? REASONS[why].message),
    recordedDeadLetter: record.pk,
  };
}

/** An invalid message whose key this delivery claimed: the key is left DEAD_LETTERED, then the copy goes. */
async function recordDeadLetter(claim: Claim, why: Reason, deps: PipelineDeps): Promise<Processed> {
  deps.lease?.settle();
  const kept = await persisted(() => deps.idempotency.fail(claim, why.message, why.code), deps);
  const recorded = kept === true;
  if (typeof kept !== 'boolean') {
    deps.logger.warn({ err: kept.error }, 'could not record the dead-letter in the idempotency store');
  }
  return { ...deadLetter(why), claim, recordedDeadLetter: recorded ? claim.pk : undefined };
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
  deps.onRecording?.();
  // The handler's work is done but not recorded: the message is kept (invisible) while complete is
  // tried again. Only when the worker stops is it left until our lease can be taken over, so the
  // next delivery takes the key at once (and runs the handler again; fencing protects downstream).
  const kept = await persisted(() => deps.idempotency.complete(claim, result, hash), deps);
  if (typeof kept !== 'boolean') {
    return { ...kept, claim, handlerMs, retryAfterMs: deps.lease?.msUntilTakeable() ?? 0 };
  }
  return kept
    ? { outcome: 'success', action: 'delete', claim, handlerMs }
    : leaseLost(claim, handlerMs, 'delete');
}

/**
 * A write that ends a claim (complete, fail), tried again in place while the store fails, the
 * message kept invisible meanwhile: it is conditional on our claim and the store recognises its
 * own effect (IdempotencyStore), so a retry after a lost answer is safe and a late one never
 * overwrites a newer owner. Resolves with the store's answer, or with the fault once the worker
 * stops (or, without a lease to keep the message, at once).
 */
async function persisted(write: () => Promise<boolean>, deps: PipelineDeps): Promise<boolean | Processed> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await write();
    } catch (error) {
      const fault = storeFault(error);
      if (!(await deps.lease?.waitToRetry(attempt))) return fault;
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
  const kept = await persisted(
    () => deps.idempotency.fail(claim, message, permanent ? 'PERMANENT_ERROR' : undefined),
    deps,
  );
  if (kept === false) return { ...leaseLost(claim, handlerMs, 'release'), error };
  const recorded = kept === true;
  // Not recorded: the claim stays IN_PROGRESS until its lease lapses; then it can be taken over.
  if (!recorded)
    deps.logger.warn({ err: kept.error }, 'could not record the failure in the idempotency store');
  if (permanent) {
    return {
      outcome: 'dead_lettered',
      action: 'dead_letter',
      reason: reason('PERMANENT_ERROR', message),
      claim,
      handlerMs,
      error,
      recordedDeadLetter: recorded ? claim.pk : undefined,
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
    retryAfterMs,
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
