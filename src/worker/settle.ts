import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { WorkerMessage } from '../core/message.js';
import type { Processed } from '../core/pipeline.js';

/** SQS allows at most 10 message attributes; the dead-letter attributes take 5 of them. */
const MAX_ATTRIBUTES = 10;
const MAX_REASON_LENGTH = 1024;

/** The SQS calls that end a delivery: delete, make visible again, or move to the dead-letter queue. */
export class Settler {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    readonly dlqUrl: string | undefined,
  ) {}

  async delete(raw: Message): Promise<void> {
    await this.sqs.send(
      new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: raw.ReceiptHandle }),
    );
  }

  async release(raw: Message, visibilitySeconds: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: raw.ReceiptHandle,
        VisibilityTimeout: visibilitySeconds,
      }),
    );
  }

  /**
   * Sends a copy to the dead-letter queue with why it is there, then deletes the original. The
   * original is deleted only once the copy is safely sent; if either fails, the error is thrown
   * and the message stays in the source queue.
   */
  async deadLetter(
    raw: Message,
    message: WorkerMessage,
    processed: Processed,
    keyAttribute: string,
  ): Promise<void> {
    if (!this.dlqUrl) throw new Error('no dead-letter queue: the source queue has no redrive policy');
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.dlqUrl,
        MessageBody: message.rawBody,
        MessageAttributes: deadLetterAttributes(raw, message, processed, keyAttribute),
        ...(message.groupId
          ? { MessageGroupId: message.groupId, MessageDeduplicationId: message.messageId }
          : {}),
      }),
    );
    await this.delete(raw);
  }
}

export function deadLetterAttributes(
  raw: Message,
  message: WorkerMessage,
  processed: Processed,
  keyAttribute: string,
): Record<string, MessageAttributeValue> {
  const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
  const reason: Record<string, MessageAttributeValue> = {
    DeadLetterReason: text(processed.reason?.code ?? 'UNKNOWN'),
    DeadLetterMessage: text((processed.reason?.message ?? '').slice(0, MAX_REASON_LENGTH) || '-'),
    DeadLetterAttempts: {
      DataType: 'Number',
      StringValue: String(processed.claim?.attempt ?? message.receiveCount),
    },
    OriginalMessageId: text(message.messageId),
    FirstReceiveTimestamp: {
      DataType: 'Number',
      StringValue: raw.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
  };
  // Keep the producer's attributes that fit, the idempotency key first.
  const original = Object.entries(raw.MessageAttributes ?? {}).sort(([a], [b]) =>
    a === keyAttribute ? -1 : b === keyAttribute ? 1 : 0,
  );
  const kept = original.slice(0, MAX_ATTRIBUTES - Object.keys(reason).length);
  return { ...Object.fromEntries(kept), ...reason };
}
