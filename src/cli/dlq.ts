import type { Message } from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTES, DEAD_LETTER_ATTRIBUTE_NAMES } from '../core/dead-letter.js';
import type { IdempotencyRecord } from '../core/idempotency-store.js';
import { REASONS, type ReasonCode } from '../core/reasons.js';
import { keyOf, receive, release, type DeadLetterQueues } from './dlq-queues.js';

/**
 * The dlq commands: `dlq show` here; `dlq redrive` in dlq-redrive.ts; the queues both reach in
 * dlq-queues.ts. This module is what the CLI imports.
 */
export {
  deadLetterDepth,
  deadLetterQueues,
  type DeadLetterQueues,
  type DeadLetterRecords,
} from './dlq-queues.js';
export { redriveDeadLetters, type RedriveOptions, type RedriveReport } from './dlq-redrive.js';

/** What `dlq show` says of a message SQS's own redrive moved: it carries no dead-letter attributes. */
const SQS_REDRIVE: ReasonCode = 'SQS_REDRIVE';

/** How long `dlq show` holds what it has seen, so one peek does not list a message twice. */
const PEEK_HOLD_SECONDS = 30;

export interface DeadLetter {
  readonly messageId: string | undefined;
  readonly key: string | undefined;
  readonly reason: string;
  readonly detail: string | undefined;
  /** Claims taken on the key (or receives), as the worker counted them; null when unknown. */
  readonly attempts: number | null;
  /** SQS's receive count, this peek's receive included. */
  readonly receiveCount: number;
  readonly originalMessageId: string | undefined;
  /** The key's record confirms the reason (DEAD_LETTERED, naming this copy). */
  readonly verified: boolean;
  /** The message's own attributes (not the key, not the dead-letter ones), as strings. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/**
 * Up to `limit` dead-lettered messages, left in the queue. SQS has no peek: a receive is the only
 * read, and raises each message's receive count by one. The messages are held invisible while the
 * peek goes on (so none is listed twice) and released at once at its end (visibility 0).
 */
export async function showDeadLetters(q: DeadLetterQueues, limit: number): Promise<DeadLetter[]> {
  const seen = new Map<string, Message>();
  try {
    while (seen.size < limit) {
      const batch = await receive(q, limit - seen.size, PEEK_HOLD_SECONDS);
      if (batch.length === 0) break;
      for (const m of batch) seen.set(m.MessageId ?? m.ReceiptHandle ?? '', m);
    }
  } finally {
    await release(q, [...seen.values()]).catch(() => {});
  }
  const letters: DeadLetter[] = [];
  for (const m of seen.values()) letters.push(describe(m, q.keyAttribute, await recordOf(q, m)));
  return letters;
}

/** The record of the message's key; null when it cannot be read (`dlq show` says less without it). */
async function recordOf(q: DeadLetterQueues, m: Message): Promise<IdempotencyRecord | null | undefined> {
  const key = keyOf(m, q.keyAttribute);
  if (!q.records || key === undefined) return null;
  return q.records.get(key).catch(() => null);
}

/**
 * Who put the dead-letter attributes on a message, as far as the key's record tells:
 * - `recorded`: the record is DEAD_LETTERED and names this copy (or no copy yet): the worker's;
 * - `unverified`: no record could be read, or there is none (the worker could not record the
 *   dead-letter: its store was down, or the body was too deep to hash), or a worker from before
 *   records said so (format 1): shown as they are, and said to be unverified;
 * - `producer`: the record says otherwise (SQS's redrive moved the message as it was sent): the
 *   attributes are the producer's, shown as its attributes, never as the worker's reason.
 */
type Provenance = 'recorded' | 'unverified' | 'producer';

function provenance(m: Message, record: IdempotencyRecord | null | undefined): Provenance {
  if (!record) return 'unverified';
  if (record.status === 'DEAD_LETTERED') {
    return record.deadLetterId === undefined || record.deadLetterId === m.MessageId ? 'recorded' : 'producer';
  }
  return record.formatVersion === undefined ? 'unverified' : 'producer';
}

/** `record`: the key's record; undefined when there is none, null when it could not be read. */
function describe(
  m: Message,
  keyAttribute: string,
  record: IdempotencyRecord | null | undefined,
): DeadLetter {
  const attribute = (name: string) => m.MessageAttributes?.[name]?.StringValue;
  const source = provenance(m, record);
  const ours = source !== 'producer';
  const recorded = source === 'recorded' ? record : undefined;
  const reason = recorded?.deadLetterReason ?? (ours ? attribute(DEAD_LETTER_ATTRIBUTES.reason) : undefined);
  const attempts = recorded
    ? String(recorded.attempts)
    : ours
      ? attribute(DEAD_LETTER_ATTRIBUTES.attempts)
      : undefined;
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
    if (name === keyAttribute || (ours && DEAD_LETTER_ATTRIBUTE_NAMES.includes(name))) continue;
    attributes[name] =
      value.StringValue ?? (value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : '');
  }
  return {
    messageId: m.MessageId,
    key: attribute(keyAttribute),
    reason: reason ?? SQS_REDRIVE,
    detail:
      reason === undefined
        ? REASONS.SQS_REDRIVE.message
        : (recorded?.lastError ?? attribute(DEAD_LETTER_ATTRIBUTES.message)),
    attempts: attempts === undefined || !Number.isFinite(Number(attempts)) ? null : Number(attempts),
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    originalMessageId: ours ? attribute(DEAD_LETTER_ATTRIBUTES.originalMessageId) : undefined,
    verified: source === 'recorded',
    attributes,
    body: m.Body,
  };
}
