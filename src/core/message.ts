import type { ReceivedMessage } from './queue.js';

/** A message as the handler sees it: decoded once, before the handler runs. */
export interface WorkerMessage {
  /** Idempotency key, computed once per delivery before the handler runs. */
  readonly key: string;
  /** Parsed JSON body, or the raw string when the body is not JSON. */
  readonly body: unknown;
  readonly rawBody: string;
  /** String-valued message attributes (binary attributes are left out). */
  readonly attributes: Readonly<Record<string, string>>;
  readonly messageId: string;
  /** SQS ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
  /** FIFO MessageGroupId, when the queue is FIFO. */
  readonly groupId: string | undefined;
  /** SentTimestamp, epoch milliseconds, when SQS reported it. */
  readonly sentAt: number | undefined;
}

/** Parses a body as JSON when it is JSON; otherwise returns the string itself. */
export function decodeBody(raw: string): unknown {
  const trimmed = raw.trimStart();
  if (trimmed === '' || !'{["-0123456789tfn'.includes(trimmed[0] as string)) return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/**
 * The idempotency key of a message: the producer's key attribute when present (it survives a
 * producer's double send, which gets a new MessageId), else the SQS MessageId.
 */
export function deriveKey(
  attributes: Readonly<Record<string, string>>,
  messageId: string,
  keyAttribute: string,
) {
  const fromProducer = attributes[keyAttribute];
  return fromProducer !== undefined && fromProducer !== '' ? fromProducer : messageId;
}

/**
 * A received message as the handler sees it: the key derived and the body decoded once, here,
 * before anything else runs. Only string-valued attributes are passed on.
 */
export function toWorkerMessage(received: ReceivedMessage, keyAttribute: string): WorkerMessage {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(received.attributes)) {
    if (value.stringValue !== undefined) attributes[name] = value.stringValue;
  }
  return {
    key: deriveKey(attributes, received.messageId, keyAttribute),
    body: decodeBody(received.body),
    rawBody: received.body,
    attributes,
    messageId: received.messageId,
    receiveCount: received.receiveCount,
    groupId: received.groupId,
    sentAt: received.sentAt,
  };
}
