/**
 * The message attributes the worker adds to what it moves to the dead-letter queue, defined once:
 * the settler writes them and `dlq show` / `dlq redrive` read them.
 */
export const DEAD_LETTER_ATTRIBUTES = {
  /** A code from core/reasons.ts. */
  reason: 'DeadLetterReason',
  /** The log-safe message of that reason, at most 1 KiB. */
  message: 'DeadLetterMessage',
  /** Claims taken on the key (or receives, when the key was never claimed). A Number attribute. */
  attempts: 'DeadLetterAttempts',
  /** The MessageId in the source queue. */
  originalMessageId: 'OriginalMessageId',
  /** ApproximateFirstReceiveTimestamp in the source queue, epoch ms. A Number attribute. */
  firstReceiveTimestamp: 'FirstReceiveTimestamp',
} as const;

export const DEAD_LETTER_ATTRIBUTE_NAMES: readonly string[] = Object.values(DEAD_LETTER_ATTRIBUTES);

/** Longest DeadLetterMessage kept. */
export const MAX_DEAD_LETTER_MESSAGE = 1024;
