import {
  DeleteMessageBatchCommand,
  SendMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTES, DEAD_LETTER_ATTRIBUTE_NAMES } from '../core/dead-letter.js';
import { describeError } from '../core/errors.js';
import { keyOf, receive, release, type DeadLetterQueues } from './dlq-queues.js';

/** Receives in a row that bring nothing to move, after which `dlq redrive` stops. */
const STALE_RECEIVES = 3;
/** How long `dlq redrive` holds a batch between receiving it and deleting it. */
const REDRIVE_HOLD_SECONDS = 60;

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
          MessageGroupId: groupId || undefined,
          MessageDeduplicationId: groupId ? `redrive-${m.MessageId}` : undefined,
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
