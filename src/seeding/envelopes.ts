import { eventBridgeEvent, snsNotification } from '../core/envelope.js';
import type { OutgoingMessage } from './send.js';

/**
 * Seeding through an envelope (`/seed` and `produce` with `envelope`), so MESSAGE_ENVELOPE can be
 * tried locally: each message is sent as SNS (an SQS subscription without raw delivery) or
 * EventBridge (a rule's SQS target) would deliver it. Its key becomes the envelope's id and no key
 * attribute is sent, as with the real services: the worker keys it by the envelope id. A duplicate
 * reuses the id and the inner message (with a later envelope Timestamp, which is not hashed).
 */

export const SEED_ENVELOPES = ['sns', 'eventbridge'] as const;
export type SeedEnvelope = (typeof SEED_ENVELOPES)[number];

/** Where seeded envelopes say they come from. */
export const SEED_TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:sqs-worker-seed';
export const SEED_EVENT_SOURCE = 'sqs-worker.seed';
export const SEED_DETAIL_TYPE = 'Seeded message';

/** Why a message cannot go in the envelope, and which of its fields is at fault. */
export interface EnvelopeProblem {
  readonly field: 'body' | 'attributes';
  readonly problem: string;
}

/**
 * One message in an envelope. Keyless messages get a random envelope id (SNS and EventBridge ids
 * are UUIDs too). Returns a problem for a body EventBridge cannot carry as `detail` (it must be a
 * JSON object) or attributes on an EventBridge event (events have none).
 */
export function inEnvelope(
  kind: SeedEnvelope,
  message: OutgoingMessage,
  id: string,
  time: string,
): OutgoingMessage | EnvelopeProblem {
  const { attributes, ...rest } = message;
  let body: string;
  if (kind === 'sns') {
    body = snsNotification({
      id,
      topicArn: SEED_TOPIC_ARN,
      message: message.body,
      time,
      attributes,
    });
  } else {
    if (attributes !== undefined && Object.keys(attributes).length > 0) {
      return { field: 'attributes', problem: 'EventBridge events carry no message attributes' };
    }
    if (!isJsonObject(message.body)) {
      return { field: 'body', problem: 'an EventBridge detail must be a JSON object' };
    }
    body = eventBridgeEvent({
      id,
      source: SEED_EVENT_SOURCE,
      detailType: SEED_DETAIL_TYPE,
      detail: message.body.trim(),
      time,
      account: '000000000000',
      region: 'us-east-1',
    });
  }
  return { ...rest, key: id, body, keyInBody: true };
}

/** Messages that cannot fail to go in an envelope (generated ones) as a lazy stream. */
export function* inEnvelopes(
  kind: SeedEnvelope,
  messages: Iterable<OutgoingMessage>,
  newId: () => string,
): Generator<OutgoingMessage> {
  for (const message of messages) {
    const wrapped = inEnvelope(kind, message, message.key ?? newId(), new Date().toISOString());
    if ('problem' in wrapped) throw new Error(`${wrapped.field}: ${wrapped.problem}`);
    yield wrapped;
  }
}

export const isProblem = (x: OutgoingMessage | EnvelopeProblem): x is EnvelopeProblem => 'problem' in x;

function isJsonObject(text: string): boolean {
  if (!text.trimStart().startsWith('{')) return false;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
