import {
  DEAD_LETTER_ATTRIBUTES,
  DEAD_LETTER_ATTRIBUTE_NAMES,
  MAX_DEAD_LETTER_MESSAGE,
} from '../core/dead-letter.js';
import type { WorkerMessage } from '../core/message.js';
import type { Processed } from '../core/pipeline.js';
import { QUEUE_LIMITS, type MessageAttributes, type ReceivedMessage } from '../core/queue.js';
import { reason } from '../core/reasons.js';
import { backoffMs } from './backoff.js';

/** What to do with the SQS message once its delivery has a result. */
export type SettlePlan =
  | { readonly action: 'delete' }
  | {
      readonly action: 'dead_letter';
      readonly attributes: MessageAttributes;
      /** The pk of the key's DEAD_LETTERED record, when there is one: the copy's id is noted on it. */
      readonly recorded?: string | undefined;
    }
  /** Make it visible again after `delayMs` (0: at once). */
  | { readonly action: 'release'; readonly delayMs: number };

export interface PolicyContext {
  readonly hasDeadLetterQueue: boolean;
  /** When this receive began (epoch ms): SQS caps a message's visibility at 12 hours after it. */
  readonly receivedAt?: number | undefined;
  /** The worker is stopping past its shutdown timeout: what is released comes back at once. */
  readonly shuttingDown: boolean;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly keyAttribute: string;
  readonly now: number;
  readonly random?: (() => number) | undefined;
}

/** SQS allows at most 10 message attributes per message. */
const MAX_ATTRIBUTES = 10;

/** The longest a message can stay invisible after a receive: SQS's 12 hours. */
export const MAX_VISIBILITY_MS = QUEUE_LIMITS.maxVisibilityTimeoutSeconds * 1000;

/**
 * Kept off the 12 hours when parking a message: SQS counts them from its own receive, a little
 * before the worker's, and a visibility past them is refused (the message would then come back
 * after the visibility timeout, minutes instead of hours).
 */
export const PARK_MARGIN_MS = 5 * 60 * 1000;

/**
 * The settle policy, apart from the SQS calls that carry it out (settler.ts). Nothing is deleted
 * unless completed, a duplicate, or on its way to the dead-letter queue. Returns what will really
 * be done: a permanent failure on a queue without a dead-letter queue can only be released, and
 * is reported as a retry with reason NO_DEAD_LETTER_QUEUE (the dead-letter code in `original`).
 * It is parked: released for as long as SQS allows (12 hours after its receive), so it comes back
 * about twice a day, each time logged at error and counted, until the queue's retention period
 * drops it or someone removes it. Retrying it sooner cannot help and would only burn the handler.
 */
export function decideSettlement(
  received: ReceivedMessage,
  message: WorkerMessage,
  processed: Processed,
  context: PolicyContext,
): { readonly processed: Processed; readonly plan: SettlePlan } {
  if (processed.action === 'delete') return { processed, plan: { action: 'delete' } };
  if (processed.action === 'dead_letter') {
    if (!context.hasDeadLetterQueue) return { processed: noDlq(processed), plan: park(context) };
    const attributes = deadLetterAttributes(received, message, processed, context);
    const recorded = processed.recordedDeadLetter;
    return {
      processed,
      plan: { action: 'dead_letter', attributes, recorded },
    };
  }
  return { processed, plan: { action: 'release', delayMs: releaseDelayMs(message, processed, context) } };
}

/**
 * How long the message waits before it is delivered again, never past what SQS allows after its
 * receive (parkableMs): a visibility past 12 hours from the receive is refused, and the message
 * would come back after the visibility timeout instead of the delay asked for.
 */
function releaseDelayMs(message: WorkerMessage, processed: Processed, context: PolicyContext): number {
  if (context.shuttingDown) return 0;
  const code = processed.reason?.code;
  if (code === 'FIFO_GROUP_BLOCKED' || code === 'SHUTDOWN') return 0;
  const wanted =
    processed.retryAfterMs ??
    backoffMs(message.receiveCount, context.backoff.baseMs, context.backoff.maxMs, context.random);
  return Math.min(wanted, parkableMs(context));
}

function noDlq(processed: Processed): Processed {
  const original = processed.reason?.code ?? 'INTERNAL_ERROR';
  const why = `${original}: ${processed.reason?.message ?? 'permanent failure'}`;
  return {
    ...processed,
    outcome: 'retry',
    action: 'release',
    reason: {
      ...reason('NO_DEAD_LETTER_QUEUE', `${why}; the queue has no redrive policy, parked for 12 hours`),
      original,
    },
  };
}

/** Released until 12 hours after the receive (less PARK_MARGIN_MS): see decideSettlement. */
function park(context: PolicyContext): SettlePlan {
  return { action: 'release', delayMs: parkableMs(context) };
}

/** The longest SQS lets the message stay invisible from now: 12 hours after its receive, less PARK_MARGIN_MS. */
function parkableMs(context: Pick<PolicyContext, 'now' | 'receivedAt'>): number {
  const held = Math.max(0, context.now - (context.receivedAt ?? context.now));
  return Math.max(0, MAX_VISIBILITY_MS - PARK_MARGIN_MS - held);
}

/**
 * Why it is there, plus the producer's attributes that still fit (the idempotency key first). A
 * producer's attributes with the names of ours are dropped (producerAttributes): a copy never
 * presents what a producer sent as the worker's reason.
 */
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
    [names.message]: text(sqsText(processed.reason?.message ?? '', MAX_DEAD_LETTER_MESSAGE) || '-'),
    [names.attempts]: number(processed.claim?.attempt ?? message.receiveCount),
    [names.originalMessageId]: text(message.messageId),
    [names.firstReceiveTimestamp]: number(received.firstReceivedAt ?? context.now),
  };
  const original = Object.entries(producerAttributes(received)).sort(([a], [b]) =>
    a === context.keyAttribute ? -1 : b === context.keyAttribute ? 1 : 0,
  );
  const kept = original.slice(0, MAX_ATTRIBUTES - Object.keys(why).length);
  return { ...Object.fromEntries(kept), ...why };
}

/** The message's own attributes, less any that bear the names of the worker's dead-letter attributes. */
export function producerAttributes(received: Pick<ReceivedMessage, 'attributes'>): MessageAttributes {
  return Object.fromEntries(
    Object.entries(received.attributes).filter(([name]) => !DEAD_LETTER_ATTRIBUTE_NAMES.includes(name)),
  );
}

/** Characters SQS refuses in attribute values (and bodies): all but #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000+. */
const NOT_SQS_TEXT = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * `value` cut to at most `max` UTF-16 units, never between the two halves of a pair, with every
 * character SQS refuses replaced by U+FFFD. A reason's message can hold anything (a handler's
 * error, a key, a JSON path decoded from `\u0000` escapes); one SQS refuses would make the
 * dead-letter send fail, and the message would come back again and again.
 */
export function sqsText(value: string, max: number): string {
  let cut = value.length <= max ? value : value.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  if (cut.length < value.length && last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut.replace(NOT_SQS_TEXT, '\uFFFD');
}
