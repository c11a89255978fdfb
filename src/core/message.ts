import { openEnvelope, type Envelope, type EnvelopeMode } from './envelope.js';
import type { MessageAttribute, ReceivedMessage } from './queue.js';
import { reason, type Reason } from './reasons.js';

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
  /**
   * The SNS or EventBridge envelope the message came in (MESSAGE_ENVELOPE), already opened: body,
   * rawBody and attributes are the inner message's. Undefined for a plain message.
   */
  readonly envelope?: Envelope;
  /**
   * Why the message cannot be handled as delivered (a malformed envelope): the pipeline
   * dead-letters it before anything else, so a handler never sees it set.
   */
  readonly rejected?: Reason;
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
 * producer's double send, which gets a new MessageId), else `messageId` (the SQS MessageId, or
 * the envelope's id). The attribute's text (String, Number and custom String.x types) is the key;
 * a Binary one's bytes are, as standard padded base64. An attribute that is present but holds
 * neither a non-empty text nor bytes is never passed over for the MessageId (a producer's retry
 * would then be handled twice): `rejected` says why, and the message is dead-lettered.
 */
export function deriveKey(
  attributes: Readonly<Record<string, MessageAttribute>>,
  messageId: string,
  keyAttribute: string,
): { readonly key: string; readonly rejected?: Reason } {
  if (!Object.hasOwn(attributes, keyAttribute)) return { key: messageId };
  const attribute = attributes[keyAttribute];
  if (attribute?.dataType.startsWith('Binary')) {
    const bytes = attribute.binaryValue;
    if (bytes && bytes.byteLength > 0) return { key: Buffer.from(bytes).toString('base64') };
  } else if (attribute?.stringValue !== undefined && attribute.stringValue !== '') {
    return { key: attribute.stringValue };
  }
  const type = JSON.stringify(attribute?.dataType ?? null);
  return {
    key: messageId,
    rejected: reason(
      'INVALID_IDEMPOTENCY_KEY',
      `${keyAttribute} (type ${type.slice(0, 64)}) holds no usable key`,
    ),
  };
}

/**
 * A received message as the handler sees it: the envelope opened (MESSAGE_ENVELOPE), the key
 * derived and the body decoded once, here, before anything else runs. Only string-valued
 * attributes are passed on. An SNS envelope's MessageAttributes join the SQS ones (SQS's win a
 * clash), so the key is the producer's key attribute, else the envelope's id, else the MessageId.
 */
export function toWorkerMessage(
  received: ReceivedMessage,
  keyAttribute: string,
  envelopeMode: EnvelopeMode = 'none',
): WorkerMessage {
  const opened = openEnvelope(received.body, envelopeMode);
  const inner = opened.kind === 'envelope' ? opened : undefined;
  const source = inner ? { ...inner.attributes, ...received.attributes } : received.attributes;
  // fromEntries defines own properties: a name such as `__proto__` (valid in SQS) is kept.
  const attributes: Record<string, string> = Object.fromEntries(
    Object.entries(source).flatMap(([name, value]) =>
      value.stringValue === undefined ? [] : [[name, value.stringValue]],
    ),
  );
  const rawBody = inner ? inner.rawBody : received.body;
  const keyed = deriveKey(source, inner ? inner.envelope.id : received.messageId, keyAttribute);
  const rejected = opened.kind === 'invalid' ? reason('INVALID_ENVELOPE', opened.problem) : keyed.rejected;
  return {
    key: keyed.key,
    body: decodeBody(rawBody),
    rawBody,
    attributes,
    messageId: received.messageId,
    receiveCount: received.receiveCount,
    groupId: received.groupId,
    sentAt: received.sentAt,
    ...(inner ? { envelope: inner.envelope } : {}),
    ...(rejected ? { rejected } : {}),
  };
}
