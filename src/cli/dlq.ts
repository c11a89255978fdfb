import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { ConfigError } from '../core/errors.js';
import type { Connection } from '../aws/connect.js';

/** Attributes the worker adds when it dead-letters; dropped again on redrive. */
const DEAD_LETTER_ATTRIBUTES = [
  'DeadLetterReason',
  'DeadLetterMessage',
  'DeadLetterAttempts',
  'OriginalMessageId',
  'FirstReceiveTimestamp',
];

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
  return messages.map((m) => ({
    messageId: m.MessageId,
    originalMessageId: m.MessageAttributes?.OriginalMessageId?.StringValue,
    reason: m.MessageAttributes?.DeadLetterReason?.StringValue ?? 'SQS_REDRIVE (maxReceiveCount reached)',
    detail: m.MessageAttributes?.DeadLetterMessage?.StringValue,
    attempts: m.MessageAttributes?.DeadLetterAttempts?.StringValue,
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    body: m.Body,
  }));
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
    if (!DEAD_LETTER_ATTRIBUTES.includes(name)) attributes[name] = value;
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
