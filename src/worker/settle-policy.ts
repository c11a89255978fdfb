import { DEAD_LETTER_ATTRIBUTES, MAX_DEAD_LETTER_MESSAGE } from '../core/dead-letter.js';
import type { WorkerMessage } from '../core/message.js';
import type { Processed } from '../core/pipeline.js';
import type { MessageAttributes, ReceivedMessage } from '../core/queue.js';
import { reason } from '../core/reasons.js';
import { backoffMs } from './backoff.js';

/** What to do with the SQS message once its delivery has a result. */
export type SettlePlan =
  | { readonly action: 'delete' }
  | { readonly action: 'dead_letter'; readonly attributes: MessageAttributes }
  /** Make it visible again after `delayMs` (0: at once). */
  | { readonly action: 'release'; readonly delayMs: number };

export interface PolicyContext {
  readonly hasDeadLetterQueue: boolean;
  /** The worker is stopping past its shutdown timeout: what is released comes back at once. */
  readonly shuttingDown: boolean;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly keyAttribute: string;
  readonly now: number;
  readonly random?: () => number;
}

/** SQS allows at most 10 message attributes per message. */
const MAX_ATTRIBUTES = 10;

/**
 * The settle policy, apart from the SQS calls that carry it out (settler.ts). Nothing is deleted
 * unless completed, a duplicate, or on its way to the dead-letter queue. Returns what will really
 * be done: a permanent failure on a queue without a dead-letter queue can only be released (with
 * backoff), and is reported as a retry with reason NO_DEAD_LETTER_QUEUE, not as dead-lettered.
 */
export function decideSettlement(
  received: ReceivedMessage,
  message: WorkerMessage,
  processed: Processed,
  context: PolicyContext,
): { readonly processed: Processed; readonly plan: SettlePlan } {
  if (processed.action === 'delete') return { processed, plan: { action: 'delete' } };
  if (processed.action === 'dead_letter') {
    if (!context.hasDeadLetterQueue) return decideSettlement(received, message, noDlq(processed), context);
    const attributes = deadLetterAttributes(received, message, processed, context);
    return { processed, plan: { action: 'dead_letter', attributes } };
  }
  return { processed, plan: { action: 'release', delayMs: releaseDelayMs(message, processed, context) } };
}

function releaseDelayMs(message: WorkerMessage, processed: Processed, context: PolicyContext): number {
  if (context.shuttingDown) return 0;
  const code = processed.reason?.code;
  if (code === 'FIFO_GROUP_BLOCKED' || code === 'SHUTDOWN') return 0;
  if (processed.retryAfterMs !== undefined) return processed.retryAfterMs;
  return backoffMs(message.receiveCount, context.backoff.baseMs, context.backoff.maxMs, context.random);
}

function noDlq(processed: Processed): Processed {
  const why = processed.reason
    ? `${processed.reason.code}: ${processed.reason.message}`
    : 'permanent failure';
  return {
    ...processed,
    outcome: 'retry',
    action: 'release',
    reason: reason('NO_DEAD_LETTER_QUEUE', `${why}; the queue has no redrive policy`),
  };
}

/** Why it is there, plus the producer's attributes that still fit (the idempotency key first). */
export function deadLetterAttributes(
  received: ReceivedMessage,
  message: WorkerMessage,
  processed: Processed,
  context: Pick<PolicyContext, 'keyAttribute' | 'now'>,
): MessageAttributes {
  const text = (value: string) => ({ dataType: 'String', stringValue: value });
  const number = (value: number) => ({ dataType: 'Number', stringValue: String(value) });
  const names = DEAD_LETTER_ATTRIBUTES;
  const why = {
    [names.reason]: text(processed.reason?.code ?? 'INTERNAL_ERROR'),
    [names.message]: text((processed.reason?.message ?? '').slice(0, MAX_DEAD_LETTER_MESSAGE) || '-'),
    [names.attempts]: number(processed.claim?.attempt ?? message.receiveCount),
    [names.originalMessageId]: text(message.messageId),
    [names.firstReceiveTimestamp]: number(received.firstReceivedAt ?? context.now),
  };
  const original = Object.entries(received.attributes).sort(([a], [b]) =>
    a === context.keyAttribute ? -1 : b === context.keyAttribute ? 1 : 0,
  );
  const kept = original.slice(0, MAX_ATTRIBUTES - Object.keys(why).length);
  return { ...Object.fromEntries(kept), ...why };
}
