import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTES, DEAD_LETTER_ATTRIBUTE_NAMES } from '../core/dead-letter.js';
import { ConfigError } from '../core/errors.js';
import { REASONS, type ReasonCode } from '../core/reasons.js';
import type { Connection } from '../aws/connect.js';

/** What `dlq show` says of a message SQS's own redrive moved: it carries no dead-letter attributes. */
const SQS_REDRIVE: ReasonCode = 'SQS_REDRIVE';

function requireDlq(c: Connection): string {
  if (!c.dlqUrl)
    throw new ConfigError('SQS_QUEUE_URL', 'the queue has no redrive policy, so no dead-letter queue');
  return c.dlqUrl;
}

async function receive(c: Connection, dlqUrl: string, max: number, visibilitySeconds: number) {
  const out = await c.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: dlqUrl,
      MaxNumberOfMessages: Math.min(10, max),
      WaitTimeSeconds: 1,
      VisibilityTimeout: visibilitySeconds,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

/** Up to 10 dead-lettered messages with why they are there; they stay in the queue. */
export async function showDeadLetters(c: Connection, limit: number): Promise<object[]> {
  const messages = await receive(c, requireDlq(c), limit, 0);
  return messages.map((m) => {
    const attribute = (name: string) => m.MessageAttributes?.[name]?.StringValue;
    const reason = attribute(DEAD_LETTER_ATTRIBUTES.reason);
    return {
      messageId: m.MessageId,
      originalMessageId: attribute(DEAD_LETTER_ATTRIBUTES.originalMessageId),
      reason: reason ?? SQS_REDRIVE,
      detail: reason === undefined ? REASONS.SQS_REDRIVE : attribute(DEAD_LETTER_ATTRIBUTES.message),
      attempts: attribute(DEAD_LETTER_ATTRIBUTES.attempts),
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
      body: m.Body,
    };
  });
}

/**
 * Moves up to `count` messages back to the source queue (body, key and other attributes as they
 * were; the dead-letter attributes dropped), deleting each from the DLQ only once it is sent.
 */
export async function redriveDeadLetters(c: Connection, count: number): Promise<number> {
  const dlqUrl = requireDlq(c);
  let moved = 0;
  while (moved < count) {
    const batch = await receive(c, dlqUrl, count - moved, 60);
    if (batch.length === 0) break;
    for (const m of batch) await resend(c, m);
    await c.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    moved += batch.length;
  }
  return moved;
}

async function resend(c: Connection, m: Message): Promise<void> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
    if (!DEAD_LETTER_ATTRIBUTE_NAMES.includes(name)) attributes[name] = value;
  }
  const groupId = m.Attributes?.MessageGroupId;
  await c.sqs.send(
    new SendMessageCommand({
      QueueUrl: c.queueUrl,
      MessageBody: m.Body ?? '',
      MessageAttributes: attributes,
      ...(groupId ? { MessageGroupId: groupId, MessageDeduplicationId: `redrive-${m.MessageId}` } : {}),
    }),
  );
}
