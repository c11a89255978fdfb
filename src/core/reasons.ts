/**
 * Why a delivery was not simply handled: the stable codes that go out in the dead-letter queue's
 * `DeadLetterReason` attribute, in each message's log line (`reason`) and in `dlq show`. Operators
 * match on them, so they are defined here once; the "Reason codes" table of docs/architecture.md lists them.
 */
export const REASONS = {
  INVALID_JSON: {
    message: 'the body is not JSON, and MESSAGE_SCHEMA requires JSON',
    then: 'dead-lettered at once',
  },
  SCHEMA_VIOLATION: {
    message: 'the body does not satisfy MESSAGE_SCHEMA',
    then: 'dead-lettered at once',
  },
  INVALID_ENVELOPE: {
    message: 'the body is not the SNS or EventBridge envelope MESSAGE_ENVELOPE expects',
    then: 'dead-lettered at once',
  },
  BODY_TOO_DEEP: {
    message: 'the body is JSON nested deeper than 256 levels (MAX_JSON_DEPTH)',
    then: 'dead-lettered at once',
  },
  INVALID_IDEMPOTENCY_KEY: {
    message: 'the key attribute is present but holds no usable key (empty, or neither text nor bytes)',
    then: 'dead-lettered at once',
  },
  PERMANENT_ERROR: {
    message: 'the handler threw PermanentError',
    then: 'dead-lettered at once',
  },
  PAYLOAD_MISMATCH: {
    message: 'the key was first seen with a different body',
    then: 'dead-lettered at once',
  },
  HANDLER_ERROR: {
    message: 'the handler threw',
    then: 'released after the backoff; SQS redrive after MAX_RECEIVE_COUNT receives',
  },
  ABORTED: {
    message: "the handler's signal fired: timeout, shutdown or lost lease",
    then: 'released after the backoff (at once at shutdown)',
  },
  STORE_UNAVAILABLE: {
    message: 'the idempotency store could not be reached',
    then: 'released after the backoff, neither handled nor deleted',
  },
  IN_PROGRESS_ELSEWHERE: {
    message: 'another worker holds the claim',
    then: "released until the other claim's lease lapses",
  },
  LEASE_EXPIRED: {
    message: "the claim's lease ran out before its grant arrived (a slow store or a stalled process)",
    then: 'released; the handler did not run',
  },
  LEASE_LOST: {
    message: 'the claim was taken over by another worker',
    then: 'released (or deleted, when the handler had finished); nothing overwritten',
  },
  FIFO_GROUP_BLOCKED: {
    message: 'an earlier message of this group failed in the same receive',
    then: 'released at once, behind the failed one',
  },
  SHUTDOWN: {
    message: 'the worker stopped before this message started',
    then: 'released at once',
  },
  INTERNAL_ERROR: {
    message: "a fault in the worker's own code",
    then: 'released after the backoff',
  },
  NO_DEAD_LETTER_QUEUE: {
    message: 'a permanent failure (its code in `original`), but the queue has no dead-letter queue',
    then: 'released for 12 hours (the longest SQS allows), logged at error, counted; until retention drops it',
  },
  DEAD_LETTER_FAILED: {
    message: 'the dead-letter queue did not accept the copy (its code in `original`)',
    then: 'left in the queue; it comes back when its visibility lapses, and only the copy is sent again',
  },
  SQS_REDRIVE: {
    message: "SQS's redrive moved it after maxReceiveCount receives",
    then: '(in the dead-letter queue)',
  },
} as const satisfies Record<string, { readonly message: string; readonly then: string }>;

export type ReasonCode = keyof typeof REASONS;

/** A reason: its code, and a log-safe message for this one delivery. */
export interface Reason {
  readonly code: ReasonCode;
  readonly message: string;
  /** NO_DEAD_LETTER_QUEUE, DEAD_LETTER_FAILED: the code the message would have been dead-lettered with. */
  readonly original?: ReasonCode;
}

export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];

export function reason(code: ReasonCode, message: string = REASONS[code].message): Reason {
  return { code, message };
}
