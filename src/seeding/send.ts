import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  SendMessageBatchCommand,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describeError } from '../core/errors.js';
import { isFifoQueue } from '../aws/queues.js';

/** One message to send. */
export interface OutgoingMessage {
  /** Idempotency key, sent in the key attribute; without it the worker uses the MessageId. */
  readonly key: string | undefined;
  readonly body: string;
  readonly groupId?: string;
  readonly delaySeconds?: number;
  readonly attributes?: Readonly<Record<string, string>>;
}

export interface SendOptions {
  /** Batches in flight at once (default 8). */
  readonly concurrency?: number;
  /** FIFO order within a group: one batch in flight, whatever `concurrency` says. */
  readonly ordered?: boolean;
  /** At most this many messages a second (default: no limit). */
  readonly ratePerSecond?: number;
  /** Stops taking new batches when it fires; batches in flight finish. */
  readonly signal?: AbortSignal;
  /** Sends of a failed entry, the first included (default 4). */
  readonly attempts?: number;
  readonly onProgress?: (done: { readonly sent: number; readonly failed: number }) => void;
  readonly onSent?: (index: number, messageId: string | undefined) => void;
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
const RETRY_BASE_MS = 100;

interface Entry {
  readonly index: number;
  readonly message: OutgoingMessage;
}

/**
 * Sends every message with SendMessageBatch, several batches in flight. Entries SQS fails (the
 * batch's `Failed`, or the whole request) are sent again with a backoff, up to `attempts` times,
 * unless SQS says the fault is the sender's; what still fails is returned, never dropped.
 */
export async function sendAll(
  sqs: SQSClient,
  queueUrl: string,
  keyAttribute: string,
  messages: Iterable<OutgoingMessage>,
  options: SendOptions = {},
): Promise<SendReport> {
  const fifo = isFifoQueue(queueUrl);
  const batches = batchesOf(messages, keyAttribute);
  const failed: SendFailure[] = [];
  const attempts = options.attempts ?? 4;
  let sent = 0;
  let taken = 0;
  const started = Date.now();
  const progress = () => options.onProgress?.({ sent, failed: failed.length });

  const lane = async (): Promise<void> => {
    for (;;) {
      if (options.signal?.aborted) return;
      const next = batches.next();
      if (next.done) return;
      const batch = next.value;
      if (options.ratePerSecond !== undefined) {
        // The batch leaves when the rate allows every message taken before it.
        const due = started + (taken / options.ratePerSecond) * 1000;
        taken += batch.length;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait, undefined, { signal: options.signal }).catch(() => {});
        // Stopped while waiting its turn: not sent, and not a failure (the caller counts it unsent).
        if (options.signal?.aborted) return;
      }
      await sendBatch(batch);
    }
  };

  const sendBatch = async (batch: readonly Entry[]): Promise<void> => {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const retry: Entry[] = [];
      const last = attempt >= attempts || options.signal?.aborted === true;
      try {
        const out = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: pending.map((e) => toEntry(e, fifo, keyAttribute)),
          }),
        );
        const byId = new Map(pending.map((e) => [String(e.index), e]));
        for (const ok of out.Successful ?? []) {
          const entry = byId.get(ok.Id ?? '');
          if (!entry) continue;
          sent += 1;
          options.onSent?.(entry.index, ok.MessageId);
        }
        for (const bad of out.Failed ?? []) {
          const entry = byId.get(bad.Id ?? '');
          if (!entry) continue;
          if (last || bad.SenderFault === true) failed.push(failure(entry, bad.Code, bad.Message));
          else retry.push(entry);
        }
      } catch (error) {
        const code = (error as { name?: string }).name ?? 'Error';
        if (last) for (const e of pending) failed.push(failure(e, code, describeError(error)));
        else retry.push(...pending);
      }
      progress();
      pending = retry;
      if (pending.length > 0) await sleep(RETRY_BASE_MS * 2 ** (attempt - 1));
    }
  };

  const lanes = options.ordered ? 1 : Math.max(1, options.concurrency ?? 8);
  await Promise.all(Array.from({ length: lanes }, lane));
  return { sent, failed, interrupted: options.signal?.aborted === true };
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
  const attributes = { ...m.attributes, ...(m.key === undefined ? {} : { [keyAttribute]: m.key }) };
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value);
  }
  return size;
}

function toEntry(e: Entry, fifo: boolean, keyAttribute: string): SendMessageBatchRequestEntry {
  const m = e.message;
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(m.attributes ?? {})) {
    attributes[name] = { DataType: 'String', StringValue: value };
  }
  if (m.key !== undefined) attributes[keyAttribute] = { DataType: 'String', StringValue: m.key };
  return {
    Id: String(e.index),
    MessageBody: m.body,
    ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
    ...(m.delaySeconds === undefined ? {} : { DelaySeconds: m.delaySeconds }),
    ...(fifo
      ? { MessageGroupId: m.groupId ?? m.key ?? `m${e.index}`, MessageDeduplicationId: randomUUID() }
      : {}),
  };
}
