import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { WorkerError } from '../core/errors.js';
import {
  namespacePrefix,
  type IdempotencyRecord,
  type RecordStatus,
  type RecordStore,
} from '../core/idempotency-store.js';
import { isFifoQueue } from '../aws/queues.js';
import { inEnvelope, isProblem, type SeedEnvelope } from './envelopes.js';
import { sendAll, type OutgoingMessage } from './send.js';

/** Generated messages: `count` with distinct keys, then `duplicates` re-sends of keys already sent. */
export interface GeneratedSeed {
  readonly count: number;
  /** Extra messages reusing keys (and bodies) already sent: the worker must skip them. */
  readonly duplicates?: number;
  /** FIFO queues: the message group (default: one group per key). */
  readonly groupId?: string | undefined;
  /** Send each message as SNS or EventBridge would deliver it, its key as the envelope id (envelopes.ts). */
  readonly envelope?: SeedEnvelope;
}

export interface ExplicitMessage {
  /** Sent as is when a string, else as its JSON. */
  readonly body: unknown;
  /** Idempotency key, sent in the key attribute; without it the worker uses the MessageId. */
  readonly key?: string | undefined;
  /** FIFO queues: this message's group (default: the request's groupId, else its key). */
  readonly groupId?: string | undefined;
  /** Standard queues only. */
  readonly delaySeconds?: number | undefined;
  /** String message attributes. */
  readonly attributes?: Readonly<Record<string, string>> | undefined;
}

/** Messages given one by one. */
export interface ExplicitSeed {
  readonly messages: readonly ExplicitMessage[];
  readonly groupId?: string | undefined;
  /** Send each message as SNS or EventBridge would deliver it, its key as the envelope id (envelopes.ts). */
  readonly envelope?: SeedEnvelope;
}

export type SeedRequest = GeneratedSeed | ExplicitSeed;

export interface SeedResult {
  readonly sent: number;
  /** Distinct idempotency keys among the messages sent. */
  readonly unique: number;
  readonly duplicates: number;
  /** The idempotency key of each distinct key sent (a MessageId for explicit messages without key). */
  readonly keys: readonly string[];
}

/** SQS's largest message body, bytes. */
export const MAX_BODY_BYTES = 262_144;

/** A seed request that the queue cannot take as it is (answered with 400 naming `field`). */
export class SeedInputError extends WorkerError {
  readonly field: string;

  constructor(field: string, message: string) {
    super('ERR_SEED_INPUT', message);
    this.field = field;
  }
}

type Outgoing = OutgoingMessage;

/**
 * Sends seed messages (SendMessageBatch of 10, several batches in flight; see send.ts). Each
 * carries its key in the key attribute. FIFO messages get a fresh deduplication id each, so that a
 * duplicate reaches the worker (whose idempotency is what is being tried) instead of being dropped
 * by SQS. Rejects when a message could not be sent after retries.
 */
export async function seedMessages(
  sqs: SQSClient,
  queueUrl: string,
  keyAttribute: string,
  request: SeedRequest,
  /** Attributes every message carries besides its own (the trace context: `traceparent`). */
  common: Readonly<Record<string, string>> = {},
): Promise<SeedResult> {
  const fifo = isFifoQueue(queueUrl);
  if (!fifo && request.groupId !== undefined) throw notFifo('groupId');
  const outgoing = envelop(
    request,
    'messages' in request ? explicit(request, fifo, keyAttribute) : generated(request),
  );
  const ids: (string | undefined)[] = [];
  const report = await sendAll(sqs, queueUrl, keyAttribute, outgoing, {
    ordered: fifo,
    attributes: common,
    onSent: (index, messageId) => (ids[index] = messageId),
  });
  if (report.failed.length > 0) {
    const first = report.failed[0];
    throw new WorkerError(
      'ERR_SEED_SEND',
      `${report.failed.length} of ${outgoing.length} messages were not sent (${first?.code}: ${first?.message})`,
    );
  }
  const keys = outgoing.map((m, i) => m.key ?? ids[i] ?? '');
  const unique = [...new Set(keys)];
  return {
    sent: outgoing.length,
    unique: unique.length,
    duplicates: keys.length - unique.length,
    keys: unique,
  };
}

function generated(request: GeneratedSeed): Outgoing[] {
  return [...generateMessages(request, randomUUID().slice(0, 8)).messages];
}

/**
 * `count` messages with distinct keys `seed-<run>-<n>`, then `duplicates` re-sends of the first
 * keys (same body, so the worker sees a duplicate, not a payload mismatch), made as they are read:
 * a million costs no memory.
 */
export function generateMessages(
  request: GeneratedSeed,
  run: string,
): { readonly keyPrefix: string; readonly messages: Iterable<Outgoing> } {
  const createdAt = new Date().toISOString();
  const keyPrefix = `seed-${run}-`;
  const message = (seq: number): Outgoing => ({
    key: `${keyPrefix}${seq}`,
    body: JSON.stringify({ seq, run, createdAt }),
    groupId: request.groupId,
  });
  function* messages(): Generator<Outgoing> {
    for (let i = 1; i <= request.count; i += 1) yield message(i);
    const duplicates = request.count > 0 ? (request.duplicates ?? 0) : 0;
    for (let i = 0; i < duplicates; i += 1) yield message((i % request.count) + 1);
  }
  return { keyPrefix, messages: { [Symbol.iterator]: messages } };
}

/** Explicit messages, checked against what the queue accepts. Throws SeedInputError. */
export function explicit(request: ExplicitSeed, fifo: boolean, keyAttribute: string): Outgoing[] {
  return request.messages.map((m, i) => {
    const field = `messages.${i}`;
    if (!fifo && m.groupId !== undefined) throw notFifo(`${field}.groupId`);
    if (fifo && m.delaySeconds !== undefined) {
      throw new SeedInputError(`${field}.delaySeconds`, 'FIFO queues take no per-message delay');
    }
    for (const name of Object.keys(m.attributes ?? {})) {
      if (name === keyAttribute || /^(aws|amazon)\./i.test(name)) {
        throw new SeedInputError(
          `${field}.attributes.${name}`,
          name === keyAttribute
            ? `give the idempotency key as key, not as attribute ${name}`
            : 'reserved name',
        );
      }
    }
    const body = typeof m.body === 'string' ? m.body : JSON.stringify(m.body);
    if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
      throw new SeedInputError(`${field}.body`, `body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    return {
      key: m.key,
      body,
      groupId: m.groupId ?? request.groupId,
      delaySeconds: m.delaySeconds,
      attributes: m.attributes,
    };
  });
}

/** The messages in the envelope the request asks for, if any (envelopes.ts). Throws SeedInputError. */
function envelop(request: SeedRequest, messages: Outgoing[]): Outgoing[] {
  const kind = request.envelope;
  if (kind === undefined) return messages;
  return messages.map((m, i) => {
    const wrapped = inEnvelope(kind, m, m.key ?? randomUUID(), new Date().toISOString());
    const field = 'messages' in request ? `messages.${i}` : 'envelope';
    if (isProblem(wrapped)) throw new SeedInputError(`${field}.${wrapped.field}`, wrapped.problem);
    if (Buffer.byteLength(wrapped.body) > MAX_BODY_BYTES) {
      throw new SeedInputError(
        `${field}.body`,
        `body in its envelope is larger than ${MAX_BODY_BYTES} bytes`,
      );
    }
    return wrapped;
  });
}

function notFifo(field: string): SeedInputError {
  return new SeedInputError(field, 'groupId applies to FIFO queues only, and this queue is not FIFO');
}

export interface RecordsQuery {
  readonly status?: RecordStatus | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export interface RecordsPage {
  /** Each record as stored, plus its key without the namespace. */
  readonly records: readonly (IdempotencyRecord & { readonly key: string })[];
  /** Cursor of the next page; null on the last. */
  readonly next: string | null;
}

/**
 * One page of this namespace's idempotency records (what `sqs-worker records show` prints).
 * Rejects with CorruptRecordError when the page holds a record that cannot be read.
 */
export async function listRecords(
  store: RecordStore,
  namespace: string,
  query: RecordsQuery,
  now: number,
): Promise<RecordsPage> {
  const prefix = namespacePrefix(namespace);
  const { status, limit, cursor } = query;
  const page = await store.list({ prefix, limit, now, status, cursor });
  return {
    records: page.records.map((record) => {
      // The stored key (the key as sent, when pk holds its hash) wins over the one in pk.
      const { key = record.pk.slice(prefix.length), ...rest } = record;
      return { key, ...rest };
    }),
    next: page.cursor ?? null,
  };
}
