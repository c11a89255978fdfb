import type { MessageAttribute, MessageAttributes } from './queue.js';

/**
 * SNS and EventBridge envelopes (MESSAGE_ENVELOPE). A queue subscribed to an SNS topic without raw
 * message delivery receives the SNS notification as its body; a queue targeted by an EventBridge
 * rule receives the whole event. The worker opens the envelope before anything else: the handler,
 * the schema check and the payload hash see the inner message, and the default idempotency key is
 * the envelope's own id, which SNS and EventBridge keep when they deliver the same publish again
 * (each delivery to SQS gets a new SQS MessageId).
 *
 * Pure: no I/O, no clock. `openEnvelope` is called for every message, so a mode of `none` costs
 * nothing and `auto` parses only bodies that carry an envelope's telltale keys.
 */

export const ENVELOPE_MODES = ['none', 'sns', 'eventbridge', 'auto'] as const;
export type EnvelopeMode = (typeof ENVELOPE_MODES)[number];

/** An SNS notification's metadata (the fields of the body other than Message). */
export interface SnsEnvelope {
  readonly kind: 'sns';
  /** SNS MessageId: one per publish, the same on every delivery of it. */
  readonly id: string;
  readonly topicArn: string;
  /** The publish's Subject, when it had one. */
  readonly subject: string | undefined;
  /** Timestamp: when SNS accepted the publish, ISO 8601 as SNS wrote it. */
  readonly time: string;
}

/** An EventBridge event's metadata (the fields of the event other than detail). */
export interface EventBridgeEnvelope {
  readonly kind: 'eventbridge';
  /** The event id: one per event, the same on every delivery of it. */
  readonly id: string;
  readonly source: string;
  readonly detailType: string;
  /** The event's time, ISO 8601 as EventBridge wrote it. */
  readonly time: string;
  readonly account: string;
  readonly region: string;
  readonly resources: readonly string[];
}

export type Envelope = SnsEnvelope | EventBridgeEnvelope;

/** What opening a body gave. */
export type Opened =
  /** No envelope (mode `none`, or `auto` and the body is not one): the body is the message. */
  | { readonly kind: 'plain' }
  | {
      readonly kind: 'envelope';
      readonly envelope: Envelope;
      /** The inner message as text: SNS `Message`; EventBridge `detail` as it was written. */
      readonly rawBody: string;
      /** SNS MessageAttributes, typed as SQS types its own; EventBridge: none. */
      readonly attributes: MessageAttributes;
    }
  /** Not the envelope expected: `problem` says what is wrong, without quoting the body. */
  | { readonly kind: 'invalid'; readonly problem: string };

const PLAIN: Opened = { kind: 'plain' };

/** Opens the envelope of a body as `mode` says. Never throws. */
export function openEnvelope(body: string, mode: EnvelopeMode): Opened {
  if (mode === 'none') return PLAIN;
  if (mode === 'auto') {
    // Cheap pre-check, so plain bodies are not parsed once more than without envelopes.
    const sns = body.includes('"TopicArn"');
    if (!sns && !body.includes('"detail-type"')) return PLAIN;
    const parsed = parseObject(body);
    if (parsed === undefined) return PLAIN;
    if (sns && 'Type' in parsed && 'TopicArn' in parsed) return openSns(parsed);
    if ('detail-type' in parsed && 'source' in parsed && 'detail' in parsed) {
      return openEventBridge(parsed, body);
    }
    return PLAIN;
  }
  const parsed = parseObject(body);
  const name = mode === 'sns' ? 'SNS notification' : 'EventBridge event';
  if (parsed === undefined) return invalid(`expected an ${name}: the body is not a JSON object`);
  return mode === 'sns' ? openSns(parsed) : openEventBridge(parsed, body);
}

type Json = Record<string, unknown>;

function parseObject(body: string): Json | undefined {
  if (!body.trimStart().startsWith('{')) return undefined;
  try {
    return JSON.parse(body) as Json;
  } catch {
    return undefined;
  }
}

const invalid = (problem: string): Opened => ({ kind: 'invalid', problem });

/** The problem with field `name` of `o`, or undefined when it is a string (non-empty if asked). */
function stringProblem(o: Json, name: string, what: string, nonEmpty = true): string | undefined {
  const value = o[name];
  if (value === undefined) return `${what}: ${name} is missing`;
  if (typeof value !== 'string') return `${what}: ${name} is not a string`;
  if (nonEmpty && value === '') return `${what}: ${name} is empty`;
  return undefined;
}

function timeProblem(o: Json, name: string, what: string): string | undefined {
  return (
    stringProblem(o, name, what) ??
    (Number.isNaN(Date.parse(o[name] as string)) ? `${what}: ${name} is not a date` : undefined)
  );
}

const SNS = 'SNS notification';

/** The notification format of https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html */
function openSns(o: Json): Opened {
  if (o.Type !== 'Notification') {
    if (typeof o.Type !== 'string') return invalid(`${SNS}: Type is missing or not a string`);
    // A cross-account subscription's SubscriptionConfirmation lands in the queue: it needs a human
    // (or a ConfirmSubscription call), not a handler. Its SubscribeURL stays in the body, unlogged.
    return invalid(`SNS ${o.Type.slice(0, 40)} message, not a Notification (confirm subscriptions by hand)`);
  }
  const problem =
    stringProblem(o, 'MessageId', SNS) ??
    stringProblem(o, 'TopicArn', SNS) ??
    (/^arn:[^:]+:sns:/.test(o.TopicArn as string) ? undefined : `${SNS}: TopicArn is not an SNS ARN`) ??
    stringProblem(o, 'Message', SNS, false) ??
    timeProblem(o, 'Timestamp', SNS) ??
    (o.Subject === undefined || o.Subject === null || typeof o.Subject === 'string'
      ? undefined
      : `${SNS}: Subject is not a string`);
  if (problem) return invalid(problem);
  const attributes = snsAttributes(o.MessageAttributes);
  if (typeof attributes === 'string') return invalid(attributes);
  return {
    kind: 'envelope',
    envelope: {
      kind: 'sns',
      id: o.MessageId as string,
      topicArn: o.TopicArn as string,
      subject: typeof o.Subject === 'string' ? o.Subject : undefined,
      time: o.Timestamp as string,
    },
    rawBody: o.Message as string,
    attributes,
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * SNS MessageAttributes (`{ name: { Type, Value } }`) as SQS message attributes: String, Number
 * and String.Array values as strings, Binary values decoded from base64, as SQS gives them.
 */
function snsAttributes(raw: unknown): MessageAttributes | string {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return `${SNS}: MessageAttributes is not an object`;
  // Entries, not assignments: an attribute named __proto__ stays an attribute.
  const out: [string, MessageAttribute][] = [];
  for (const [name, value] of Object.entries(raw as Json)) {
    const v = value as Json | null;
    if (typeof v !== 'object' || v === null || typeof v.Type !== 'string' || typeof v.Value !== 'string') {
      return `${SNS}: MessageAttributes.${name.slice(0, 64)} is not { Type, Value } strings`;
    }
    if (v.Type === 'Binary' || v.Type.startsWith('Binary.')) {
      if (!BASE64.test(v.Value)) return `${SNS}: MessageAttributes.${name.slice(0, 64)} is not base64`;
      out.push([name, { dataType: v.Type, binaryValue: Buffer.from(v.Value, 'base64') }]);
    } else {
      out.push([name, { dataType: v.Type, stringValue: v.Value }]);
    }
  }
  return Object.fromEntries(out);
}

const EVENT = 'EventBridge event';

/** The event structure of https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html */
function openEventBridge(o: Json, body: string): Opened {
  const problem =
    stringProblem(o, 'version', EVENT) ??
    stringProblem(o, 'id', EVENT) ??
    stringProblem(o, 'detail-type', EVENT) ??
    stringProblem(o, 'source', EVENT) ??
    stringProblem(o, 'account', EVENT) ??
    timeProblem(o, 'time', EVENT) ??
    stringProblem(o, 'region', EVENT) ??
    (Array.isArray(o.resources) && o.resources.every((r) => typeof r === 'string')
      ? undefined
      : `${EVENT}: resources is not an array of strings`) ??
    (typeof o.detail === 'object' && o.detail !== null && !Array.isArray(o.detail)
      ? undefined
      : `${EVENT}: detail is missing or not an object`);
  if (problem) return invalid(problem);
  return {
    kind: 'envelope',
    envelope: {
      kind: 'eventbridge',
      id: o.id as string,
      source: o.source as string,
      detailType: o['detail-type'] as string,
      time: o.time as string,
      account: o.account as string,
      region: o.region as string,
      resources: o.resources as string[],
    },
    // The text as written, so the payload hash and the handler see every digit the producer sent.
    rawBody: memberText(body, 'detail') ?? JSON.stringify(o.detail),
    attributes: {},
  };
}

/**
 * The source text of the top-level member `name` of a JSON object that JSON.parse accepted (the
 * last one, as JSON.parse keeps the last of duplicate keys); undefined if not found.
 */
export function memberText(json: string, name: string): string | undefined {
  let found: string | undefined;
  let i = skipSpace(json, json.indexOf('{') + 1);
  while (i < json.length && json.charCodeAt(i) === QUOTE) {
    const keyEnd = valueEnd(json, i);
    const key = JSON.parse(json.slice(i, keyEnd)) as string;
    const start = skipSpace(json, skipSpace(json, keyEnd) + 1); // past the colon
    const end = valueEnd(json, start);
    if (key === name) found = json.slice(start, end);
    i = skipSpace(json, end);
    if (json.charCodeAt(i) === COMMA) i = skipSpace(json, i + 1);
  }
  return found;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i += 1;
  return i;
}

/** The index of the quote that closes the string opened at `open`. */
function stringEnd(s: string, open: number): number {
  for (let k = s.indexOf('"', open + 1); k !== -1; k = s.indexOf('"', k + 1)) {
    let backslashes = 0;
    while (s.charCodeAt(k - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return k;
  }
  return s.length;
}

/**
 * The end (exclusive) of the JSON value starting at `i`, in text JSON.parse accepted. Strings are
 * skipped with indexOf, so the loop visits only the characters outside them.
 */
function valueEnd(s: string, i: number): number {
  let depth = 0;
  for (let j = i; j < s.length; j += 1) {
    const c = s.charCodeAt(j);
    if (c === QUOTE) {
      j = stringEnd(s, j);
      if (depth === 0) return j + 1;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
    } else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return j; // the end of a scalar at the end of its container
      depth -= 1;
      if (depth === 0) return j + 1;
    } else if (depth === 0 && (c === COMMA || isSpace(c))) {
      return j;
    }
  }
  return s.length;
}

/** What a seed sends as an SNS notification (the shape SNS delivers to SQS without raw delivery). */
export interface SnsNotificationInput {
  readonly id: string;
  readonly topicArn: string;
  readonly message: string;
  readonly subject?: string | undefined;
  /** String attributes, carried in the notification's MessageAttributes. */
  readonly attributes?: Readonly<Record<string, string>> | undefined;
  /** ISO 8601. */
  readonly time: string;
}

/**
 * An SNS notification body, as SNS writes it for an SQS subscription without raw delivery. The
 * signature fields are placeholders: the worker does not verify them (see docs/handlers.md, "SNS and EventBridge envelopes").
 */
export function snsNotification(input: SnsNotificationInput): string {
  const attributes = Object.entries(input.attributes ?? {});
  return JSON.stringify({
    Type: 'Notification',
    MessageId: input.id,
    TopicArn: input.topicArn,
    // JSON.stringify leaves out a member that is undefined.
    Subject: input.subject,
    Message: input.message,
    Timestamp: input.time,
    SignatureVersion: '1',
    Signature: 'c2VlZGVkLW5vdC1zaWduZWQ=',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-seeded.pem',
    UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${input.topicArn}:seeded`,
    MessageAttributes:
      attributes.length === 0
        ? undefined
        : Object.fromEntries(attributes.map(([name, value]) => [name, { Type: 'String', Value: value }])),
  });
}

/** What a seed sends as an EventBridge event. */
export interface EventBridgeEventInput {
  readonly id: string;
  readonly source: string;
  readonly detailType: string;
  /** The detail's JSON text: an object. */
  readonly detail: string;
  /** ISO 8601. */
  readonly time: string;
  readonly account: string;
  readonly region: string;
  readonly resources?: readonly string[];
}

/** An EventBridge event body, as an EventBridge rule's SQS target receives it. */
export function eventBridgeEvent(input: EventBridgeEventInput): string {
  const head = JSON.stringify({
    version: '0',
    id: input.id,
    'detail-type': input.detailType,
    source: input.source,
    account: input.account,
    time: input.time,
    region: input.region,
    resources: input.resources ?? [],
  });
  // The detail goes in as written (every digit kept), as the last member.
  return `${head.slice(0, -1)},"detail":${input.detail}}`;
}
