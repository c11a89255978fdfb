import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTES, DEAD_LETTER_ATTRIBUTE_NAMES } from '../core/dead-letter.js';
import { ConfigError, describeError } from '../core/errors.js';
import { namespacedPk, type IdempotencyRecord } from '../core/idempotency-store.js';
import { REASONS, type ReasonCode } from '../core/reasons.js';
import type { Connection } from '../aws/connect.js';
import { DynamoDbIdempotencyStore } from '../aws/dynamodb-store.js';

/** What `dlq show` says of a message SQS's own redrive moved: it carries no dead-letter attributes. */
const SQS_REDRIVE: ReasonCode = 'SQS_REDRIVE';

/** How long `dlq show` holds what it has seen, so one peek does not list a message twice. */
const PEEK_HOLD_SECONDS = 30;
/** Receives in a row that bring nothing to move, after which `dlq redrive` stops. */
const STALE_RECEIVES = 3;
/** How long `dlq redrive` holds a batch between receiving it and deleting it. */
const REDRIVE_HOLD_SECONDS = 60;

export interface DeadLetterQueues {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly keyAttribute: string;
  /** The keys' idempotency records: what `dlq show` trusts, and what `dlq redrive` reopens. */
  readonly records?: DeadLetterRecords;
}

/** The idempotency records of dead-lettered keys, as the dlq commands need them. */
export interface DeadLetterRecords {
  /** The key's live record, or undefined. */
  get(key: string): Promise<IdempotencyRecord | undefined>;
  /** Makes the key's DEAD_LETTERED record claimable again; false when it was not DEAD_LETTERED. */
  reopen(key: string): Promise<boolean>;
}

/** The queues, and the records in `table` when given (the CLI gives IDEMPOTENCY_TABLE). */
export function deadLetterQueues(c: Connection, keyAttribute: string, table?: string): DeadLetterQueues {
  if (!c.dlqUrl)
    throw new ConfigError('SQS_QUEUE_URL', 'the queue has no redrive policy, so no dead-letter queue');
  const q = { sqs: c.sqs, queueUrl: c.queueUrl, dlqUrl: c.dlqUrl, keyAttribute };
  if (table === undefined) return q;
  const store = new DynamoDbIdempotencyStore(c.dynamodb, table);
  const pk = (key: string) => namespacedPk(c.namespace, key);
  return {
    ...q,
    records: {
      get: (key) => store.get(pk(key), Date.now()),
      reopen: (key) => store.reopen(pk(key), Date.now()),
    },
  };
}

async function receive(q: DeadLetterQueues, max: number, visibilitySeconds: number): Promise<Message[]> {
  const out = await q.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: q.dlqUrl,
      MaxNumberOfMessages: Math.min(10, max),
      WaitTimeSeconds: 1,
      VisibilityTimeout: visibilitySeconds,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

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

/** The key a dead-lettered message was handled under: its key attribute, else its first MessageId. */
function keyOf(m: Message, keyAttribute: string): string | undefined {
  const attribute = (name: string) => m.MessageAttributes?.[name]?.StringValue;
  return attribute(keyAttribute) ?? attribute(DEAD_LETTER_ATTRIBUTES.originalMessageId) ?? m.MessageId;
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

/** Makes messages visible again at once. */
async function release(q: DeadLetterQueues, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    await q.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: q.dlqUrl,
        Entries: messages
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
}

export interface RedriveReport {
  /** Sent back to the queue and deleted from the dead-letter queue. */
  moved: number;
  /** Not sent back (left in the dead-letter queue, visible again). */
  notSent: number;
  /** Sent back, but SQS refused to delete them: they are in both queues now. */
  notDeleted: { messageId: string | undefined; key: string | undefined; code: string; message: string }[];
}

export interface RedriveOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (report: Readonly<RedriveReport>, handled: number) => void;
  /** The local clock, read once at the start (default Date.now). */
  readonly now?: () => number;
}

/**
 * Moves up to `count` messages back to the source queue (body, key and other attributes as they
 * were; the dead-letter attributes dropped), deleting each from the DLQ only once it is sent, and
 * counting as moved only what DeleteMessageBatch really deleted. Stops between batches when the
 * signal fires.
 *
 * Each message is moved at most once, recognised by message id: a running worker whose handler
 * fails again puts a redriven message straight back, and it must not go round until `count` (a
 * DLQ of 3 was once reported as 100 moved). What comes back is recognised by id, not by time:
 * - the worker dead-letters it as a new message whose OriginalMessageId is the copy sent here;
 * - SQS's own redrive (maxReceiveCount) moves that copy as it is, with the copy's MessageId (and
 *   SentTimestamp: the time this command sent it, not the original's).
 * Besides, a message SQS says was sent after the start (SentTimestamp, unknown counts as old) is
 * not moved: it was not there to be redriven. What is not moved is held invisible until the end;
 * receives that bring only such messages three times running end the redrive.
 */
export async function redriveDeadLetters(
  q: DeadLetterQueues,
  count: number,
  options: RedriveOptions = {},
): Promise<RedriveReport> {
  const report: RedriveReport = { moved: 0, notSent: 0, notDeleted: [] };
  const ours = new MovedIds((options.now ?? Date.now)());
  const held: Message[] = [];
  let handled = 0;
  let stale = 0;
  try {
    while (handled < count && options.signal?.aborted !== true) {
      const received = await receive(q, count - handled, REDRIVE_HOLD_SECONDS);
      const batch = received.filter((m) => ours.movable(m));
      held.push(...received.filter((m) => !batch.includes(m)));
      // Empty: done. Only messages already moved (or back again) or newer than the start, three
      // times running: what is left is not ours to move (a sampled receive can miss older ones).
      stale = batch.length === 0 ? stale + 1 : 0;
      if (received.length === 0 || stale === STALE_RECEIVES) break;
      if (batch.length === 0) continue;
      ours.handled(batch);
      handled += batch.length;
      const reopened = await reopenAll(q, batch);
      const sent = reopened.length === 0 ? [] : await resend(q, reopened);
      ours.sent(sent);
      const unsent = batch.filter((m) => !sent.some((s) => s.message === m));
      report.notSent += unsent.length;
      held.push(...unsent);
      const refused = await deleteAll(
        q,
        sent.map((s) => s.message),
      );
      report.moved += sent.length - refused.length;
      report.notDeleted.push(...refused);
      options.onProgress?.(report, handled);
    }
  } finally {
    await release(q, held).catch(() => {});
  }
  return report;
}

/** The message ids one redrive has handled, and those of the copies it sent back to the queue. */
class MovedIds {
  readonly #startedAt: number;
  readonly #handled = new Set<string>();
  readonly #sent = new Set<string>();

  constructor(startedAt: number) {
    this.#startedAt = startedAt;
  }

  /** Not handled yet, not a copy this redrive sent (or the worker's dead-letter of one), not new. */
  movable(m: Message): boolean {
    const id = m.MessageId ?? '';
    const original = m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.originalMessageId]?.StringValue;
    if (this.#handled.has(id) || this.#sent.has(id)) return false;
    if (original !== undefined && this.#sent.has(original)) return false;
    const sentAt = Number(m.Attributes?.SentTimestamp);
    return !Number.isFinite(sentAt) || sentAt <= this.#startedAt;
  }

  handled(batch: readonly Message[]): void {
    for (const m of batch) this.#handled.add(m.MessageId ?? '');
  }

  sent(copies: readonly Resent[]): void {
    for (const { copyId } of copies) if (copyId !== undefined) this.#sent.add(copyId);
  }
}

/** The message depth of the dead-letter queue (ApproximateNumberOfMessages): `dlq redrive`'s default count. */
export async function deadLetterDepth(q: DeadLetterQueues): Promise<number> {
  const out = await q.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: q.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  const depth = Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
  return Number.isFinite(depth) ? depth : 0;
}

/**
 * The messages whose keys may be handled again: a DEAD_LETTERED record is made FAILED first, or
 * the worker would take the redriven message for the copy it already moved and delete it. A
 * message whose record cannot be reopened stays in the dead-letter queue (counted as not sent).
 */
async function reopenAll(q: DeadLetterQueues, batch: readonly Message[]): Promise<Message[]> {
  if (!q.records) return [...batch];
  const records = q.records;
  const ready: Message[] = [];
  for (const m of batch) {
    const key = keyOf(m, q.keyAttribute);
    if (key === undefined) ready.push(m);
    else if (
      await records.reopen(key).then(
        () => true,
        () => false,
      )
    )
      ready.push(m);
  }
  return ready;
}

/** A dead-lettered message sent back to the queue, and the MessageId of that copy. */
interface Resent {
  readonly message: Message;
  readonly copyId: string | undefined;
}

/** SendMessageBatch of the batch; resolves with the messages SQS took. */
async function resend(q: DeadLetterQueues, batch: readonly Message[]): Promise<Resent[]> {
  const out = await q.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: q.queueUrl,
      Entries: batch.map((m, i) => {
        const attributes: Record<string, MessageAttributeValue> = {};
        for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
          if (!DEAD_LETTER_ATTRIBUTE_NAMES.includes(name)) attributes[name] = value;
        }
        const groupId = m.Attributes?.MessageGroupId;
        return {
          Id: String(i),
          MessageBody: m.Body ?? '',
          MessageAttributes: attributes,
          ...(groupId ? { MessageGroupId: groupId, MessageDeduplicationId: `redrive-${m.MessageId}` } : {}),
        };
      }),
    }),
  );
  return (out.Successful ?? []).flatMap((s) => {
    const m = batch[Number(s.Id)];
    return m ? [{ message: m, copyId: s.MessageId }] : [];
  });
}

/** DeleteMessageBatch, its failed entries tried once more; resolves with what stayed undeleted. */
async function deleteAll(
  q: DeadLetterQueues,
  messages: readonly Message[],
): Promise<RedriveReport['notDeleted']> {
  const refused: RedriveReport['notDeleted'] = [];
  let pending = messages.map((m, i) => ({ id: String(i), m }));
  for (let round = 0; round < 2 && pending.length > 0; round += 1) {
    let failed: {
      Id?: string | undefined;
      Code?: string | undefined;
      Message?: string | undefined;
      SenderFault?: boolean | undefined;
    }[];
    try {
      const out = await q.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: q.dlqUrl,
          Entries: pending.map(({ id, m }) => ({ Id: id, ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      failed = out.Failed ?? [];
    } catch (error) {
      failed = pending.map(({ id }) => ({ Id: id, Code: 'RequestFailed', Message: describeError(error) }));
    }
    const byId = new Map(pending.map((p) => [p.id, p]));
    pending = [];
    for (const f of failed) {
      const p = byId.get(f.Id ?? '');
      if (!p) continue;
      if (round === 0 && f.SenderFault !== true) {
        pending.push(p);
        continue;
      }
      refused.push({
        messageId: p.m.MessageId,
        key: p.m.MessageAttributes?.[q.keyAttribute]?.StringValue,
        code: f.Code ?? 'Unknown',
        message: f.Message ?? '',
      });
    }
  }
  return refused;
}
