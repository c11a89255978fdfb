import { randomUUID } from 'node:crypto';
import {
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type MessageAttributeValue,
  type SendMessageBatchResultEntry,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { systemClock, type Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { isFifoQueue } from '../aws/queues.js';

/** One message to send. */
export interface OutgoingMessage {
  /** Idempotency key, sent in the key attribute; without it the worker uses the MessageId. */
  readonly key: string | undefined;
  readonly body: string;
  readonly groupId?: string | undefined;
  readonly delaySeconds?: number | undefined;
  readonly attributes?: Readonly<Record<string, string>> | undefined;
  /** The key travels in the body, as an envelope's id (envelopes.ts): no key attribute is sent. */
  readonly keyInBody?: boolean;
}

export interface SendOptions {
  /** Batches in flight at once (default 8). */
  readonly concurrency?: number;
  /** FIFO order within a group: one batch in flight, whatever `concurrency` says. */
  readonly ordered?: boolean;
  /** At most this many messages a second (default: no limit). */
  readonly ratePerSecond?: number | undefined;
  /** Stops taking new batches when it fires; batches in flight finish. */
  readonly signal?: AbortSignal;
  /** Sends of a failed entry, the first included (default 4). */
  readonly attempts?: number;
  readonly onProgress?: (done: { readonly sent: number; readonly failed: number }) => void;
  readonly onSent?: (index: number, messageId: string | undefined) => void;
  /** String attributes every message carries besides its own (the trace context: `traceparent`). */
  readonly attributes?: Readonly<Record<string, string>>;
  /** Whose clock paces the rate and times the retries (default the system's). */
  readonly clock?: Clock | undefined;
}

export interface SendFailure {
  /** Position of the message in the input, from 0. */
  readonly index: number;
  readonly key: string | undefined;
  readonly code: string;
  readonly message: string;
}

export interface SendReport {
  readonly sent: number;
  /** Messages SQS refused after every attempt (or whose retries a stop cut short). */
  readonly failed: readonly SendFailure[];
  /** True when the signal fired: messages not counted in sent or failed were never sent. */
  readonly interrupted: boolean;
}

/** SendMessageBatch: at most 10 entries and 256 KiB in all. */
const BATCH_ENTRIES = 10;
const BATCH_BYTES = 262_144;
/** SQS: at most 10 message attributes per message. */
const MAX_ATTRIBUTES = 10;
const RETRY_BASE_MS = 100;

interface Entry {
  readonly index: number;
  readonly message: OutgoingMessage;
}

/**
 * Sends every message with SendMessageBatch, several batches in flight. Entries SQS fails (the
 * batch's `Failed`, or the whole request) are sent again with a backoff, up to `attempts` times,
 * unless SQS says the fault is the sender's; what still fails is returned, never dropped. A
 * request SQS refuses as a whole for the sender's fault (no such queue, access denied) stops the
 * sending: every later batch would be refused the same way.
 */
export async function sendAll(
  sqs: SQSClient,
  queueUrl: string,
  keyAttribute: string,
  messages: Iterable<OutgoingMessage>,
  options: SendOptions = {},
): Promise<SendReport> {
  const sender = new BatchSender(sqs, queueUrl, keyAttribute, options);
  const batches = batchesOf(messages, keyAttribute);
  const lanes = options.ordered ? 1 : Math.max(1, options.concurrency ?? 8);
  await Promise.all(Array.from({ length: lanes }, () => sender.lane(batches)));
  return { sent: sender.sent, failed: sender.failed, interrupted: options.signal?.aborted === true };
}

class BatchSender {
  sent = 0;
  readonly failed: SendFailure[] = [];
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;
  readonly #keyAttribute: string;
  readonly #fifo: boolean;
  readonly #options: SendOptions;
  readonly #clock: Clock;
  /** When sending began, on the monotonic clock: the rate counts from it. */
  readonly #started: number;
  /** Messages taken so far, for the rate. */
  #taken = 0;
  /** Set when SQS refused a whole request for the sender's fault. */
  #halted = false;

  constructor(sqs: SQSClient, queueUrl: string, keyAttribute: string, options: SendOptions) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
    this.#keyAttribute = keyAttribute;
    this.#fifo = isFifoQueue(queueUrl);
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#started = this.#clock.monotonic();
  }

  /** Takes batches and sends them, one at a time, until none is left or the sending stops. */
  async lane(batches: Iterator<Entry[]>): Promise<void> {
    for (;;) {
      if (this.#stopped()) return;
      const next = batches.next();
      if (next.done) return;
      await this.#pace(next.value.length);
      // Stopped while waiting its turn: not sent, and not a failure (the caller counts it unsent).
      if (this.#stopped()) return;
      await this.#send(next.value);
    }
  }

  #stopped(): boolean {
    return this.#halted || this.#options.signal?.aborted === true;
  }

  /** With a rate, waits until it allows every message taken before this batch. */
  async #pace(size: number): Promise<void> {
    const rate = this.#options.ratePerSecond;
    if (rate === undefined) return;
    const due = this.#started + (this.#taken / rate) * 1000;
    this.#taken += size;
    const wait = due - this.#clock.monotonic();
    if (wait > 0) await this.#clock.sleep(wait, this.#options.signal);
  }

  async #send(batch: readonly Entry[]): Promise<void> {
    const attempts = this.#options.attempts ?? 4;
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const last = attempt >= attempts || this.#options.signal?.aborted === true;
      pending = await this.#attempt(pending, last);
      this.#options.onProgress?.({ sent: this.sent, failed: this.failed.length });
      if (pending.length > 0) await this.#clock.sleep(RETRY_BASE_MS * 2 ** (attempt - 1));
    }
  }

  /** One SendMessageBatch; resolves with the entries to send again. */
  async #attempt(pending: readonly Entry[], last: boolean): Promise<Entry[]> {
    let out: {
      Successful?: SendMessageBatchResultEntry[] | undefined;
      Failed?: BatchResultErrorEntry[] | undefined;
    };
    try {
      out = await this.#sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: pending.map((e) => toEntry(e, this.#fifo, this.#keyAttribute, this.#options.attributes)),
        }),
      );
    } catch (error) {
      const refused = (error as { $fault?: string }).$fault === 'client';
      if (refused) this.#halted = true;
      if (!last && !refused) return [...pending];
      const code = (error as { name?: string }).name ?? 'Error';
      for (const e of pending) this.failed.push(failure(e, code, describeError(error)));
      return [];
    }
    const open = new Map(pending.map((e) => [String(e.index), e]));
    for (const ok of out.Successful ?? []) {
      const entry = open.get(ok.Id ?? '');
      if (!entry) continue;
      open.delete(ok.Id ?? '');
      this.sent += 1;
      this.#options.onSent?.(entry.index, ok.MessageId);
    }
    for (const bad of out.Failed ?? []) {
      const entry = open.get(bad.Id ?? '');
      if (!entry || !(last || bad.SenderFault === true)) continue;
      open.delete(bad.Id ?? '');
      this.failed.push(failure(entry, bad.Code, bad.Message));
    }
    // Left: failed for SQS's own fault, or (never seen) in neither list; sent again unless last.
    if (!last) return [...open.values()];
    for (const entry of open.values()) this.failed.push(failure(entry, 'Unknown', 'not confirmed by SQS'));
    return [];
  }
}

function failure(entry: Entry, code: string | undefined, message: string | undefined): SendFailure {
  return { index: entry.index, key: entry.message.key, code: code ?? 'Unknown', message: message ?? '' };
}

/** Batches of at most 10 entries and 256 KiB, made as they are taken. */
function* batchesOf(messages: Iterable<OutgoingMessage>, keyAttribute: string): Generator<Entry[]> {
  let batch: Entry[] = [];
  let bytes = 0;
  let index = 0;
  for (const message of messages) {
    const size = sizeOf(message, keyAttribute);
    if (batch.length === BATCH_ENTRIES || (batch.length > 0 && bytes + size > BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push({ index, message });
    bytes += size;
    index += 1;
  }
  if (batch.length > 0) yield batch;
}

/** What SQS counts against the size limit: the body and each attribute's name, type and value. */
function sizeOf(m: OutgoingMessage, keyAttribute: string): number {
  let size = Buffer.byteLength(m.body);
  const attributes = {
    ...m.attributes,
    // An attribute map holds no undefined: the key attribute is there or not at all.
    ...(m.key === undefined || m.keyInBody ? {} : { [keyAttribute]: m.key }),
  };
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value);
  }
  return size;
}

function toEntry(
  e: Entry,
  fifo: boolean,
  keyAttribute: string,
  common: Readonly<Record<string, string>> = {},
): SendMessageBatchRequestEntry {
  const m = e.message;
  const own = Object.entries(m.attributes ?? {}).filter(
    ([name]) => m.key === undefined || name !== keyAttribute,
  );
  if (m.key !== undefined && !m.keyInBody) own.push([keyAttribute, m.key]);
  // The common attributes (the trace context) only where they fit: SQS allows 10 a message, and
  // a message's own attributes and key come first.
  const room = MAX_ATTRIBUTES - own.length;
  const extra = Object.entries(common).filter(([name]) => !own.some(([taken]) => taken === name));
  const all = room >= extra.length ? [...extra, ...own] : own;
  // fromEntries defines own properties, so a name such as `__proto__` is kept.
  const attributes: Record<string, MessageAttributeValue> = Object.fromEntries(
    all.map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
  return {
    Id: String(e.index),
    MessageBody: m.body,
    ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
    DelaySeconds: m.delaySeconds,
    ...(fifo
      ? { MessageGroupId: m.groupId ?? m.key ?? `m${e.index}`, MessageDeduplicationId: randomUUID() }
      : {}),
  };
}
