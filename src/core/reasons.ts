/**
 * Why a delivery was not simply handled: the stable codes that go out in the dead-letter queue's
 * `DeadLetterReason` attribute, in each message's log line (`reason`) and in `dlq show`. Operators
 * match on them, so they are defined here once; the README's "Reason codes" table lists them.
 */
export const REASONS = {
  /** The body is not JSON, and MESSAGE_SCHEMA requires JSON. Dead-lettered. */
  INVALID_JSON: 'the body is not JSON, and MESSAGE_SCHEMA requires JSON',
  /** The body breaks MESSAGE_SCHEMA. Dead-lettered. */
  SCHEMA_VIOLATION: 'the body does not satisfy MESSAGE_SCHEMA',
  /** The handler threw PermanentError. Dead-lettered. */
  PERMANENT_ERROR: 'the handler threw PermanentError',
  /** The key was completed before with a different body (a producer reused a key). Dead-lettered. */
  PAYLOAD_MISMATCH: 'the key was first seen with a different body',
  /** The handler threw (anything but PermanentError). Retried after backoff. */
  HANDLER_ERROR: 'the handler threw',
  /** The handler's signal fired (HANDLER_TIMEOUT, shutdown, lease lost). Retried. */
  ABORTED: "the handler's signal fired: timeout, shutdown or lost lease",
  /** The idempotency store could not be reached or failed. Neither handled nor deleted; retried. */
  STORE_UNAVAILABLE: 'the idempotency store could not be reached',
  /** Another worker holds a live claim on the key. Retried when that claim's lease lapses. */
  IN_PROGRESS_ELSEWHERE: 'another worker holds the claim',
  /** This worker's claim was taken over while its handler ran. */
  LEASE_LOST: 'the claim was taken over by another worker',
  /** FIFO: an earlier message of the same group failed in the same receive. Released at once. */
  FIFO_GROUP_BLOCKED: 'an earlier message of this group failed in the same receive',
  /** The worker stopped before this message started. Released at once. */
  SHUTDOWN: 'the worker stopped before this message started',
  /** A fault in the worker's own code. Retried. */
  INTERNAL_ERROR: "a fault in the worker's own code",
  /** A permanent failure on a queue with no redrive policy: released with backoff, not dead-lettered. */
  NO_DEAD_LETTER_QUEUE: 'a permanent failure, but the queue has no dead-letter queue',
  /** Shown by `dlq show` for messages SQS's own redrive moved (they carry no DeadLetterReason). */
  SQS_REDRIVE: "SQS's redrive moved it after maxReceiveCount receives",
} as const;

export type ReasonCode = keyof typeof REASONS;

/** A reason: its code, and a log-safe message for this one delivery. */
export interface Reason {
  readonly code: ReasonCode;
  readonly message: string;
}

export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];

export function reason(code: ReasonCode, message: string = REASONS[code]): Reason {
  return { code, message };
}
