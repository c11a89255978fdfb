import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTES } from '../core/dead-letter.js';
import { ConfigError } from '../core/errors.js';
import { namespacedPk, type IdempotencyRecord } from '../core/idempotency-store.js';
import type { Connection } from '../aws/connect.js';
import { DynamoDbIdempotencyStore } from '../aws/dynamodb-store.js';

/**
 * The dead-letter queue as both dlq commands reach it (dlq.ts: show, dlq-redrive.ts: redrive):
 * the queues and the keys' records, receiving, releasing, and the key of a dead-lettered message.
 */

export interface DeadLetterQueues {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly keyAttribute: string;
  /** The keys' idempotency records: what `dlq show` trusts, and what `dlq redrive` reopens. */
  readonly records?: DeadLetterRecords;
}

/** The idempotency records of dead-lettered keys, as the dlq commands need them. */
export interface DeadLetterRecords {
  /** The key's live record, or undefined. */
  get(key: string): Promise<IdempotencyRecord | undefined>;
  /** Makes the key's DEAD_LETTERED record claimable again; false when it was not DEAD_LETTERED. */
  reopen(key: string): Promise<boolean>;
}

/** The queues, and the records in `table` when given (the CLI gives IDEMPOTENCY_TABLE). */
export function deadLetterQueues(c: Connection, keyAttribute: string, table?: string): DeadLetterQueues {
  if (!c.dlqUrl)
    throw new ConfigError('SQS_QUEUE_URL', 'the queue has no redrive policy, so no dead-letter queue');
  const q = { sqs: c.sqs, queueUrl: c.queueUrl, dlqUrl: c.dlqUrl, keyAttribute };
  if (table === undefined) return q;
  const store = new DynamoDbIdempotencyStore(c.dynamodb, table);
  const pk = (key: string) => namespacedPk(c.namespace, key);
  return {
    ...q,
    records: {
      get: (key) => store.get(pk(key), Date.now()),
      reopen: (key) => store.reopen(pk(key), Date.now()),
    },
  };
}

/** ReceiveMessage on the dead-letter queue, every attribute, each message held `visibilitySeconds`. */
export async function receive(
  q: DeadLetterQueues,
  max: number,
  visibilitySeconds: number,
): Promise<Message[]> {
  const out = await q.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: q.dlqUrl,
      MaxNumberOfMessages: Math.min(10, max),
      WaitTimeSeconds: 1,
      VisibilityTimeout: visibilitySeconds,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

/** The key a dead-lettered message was handled under: its key attribute, else its first MessageId. */
export function keyOf(m: Message, keyAttribute: string): string | undefined {
  const attribute = (name: string) => m.MessageAttributes?.[name]?.StringValue;
  return attribute(keyAttribute) ?? attribute(DEAD_LETTER_ATTRIBUTES.originalMessageId) ?? m.MessageId;
}

/** Makes messages visible again at once. */
export async function release(q: DeadLetterQueues, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    await q.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: q.dlqUrl,
        Entries: messages
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
}

/** The message depth of the dead-letter queue (ApproximateNumberOfMessages): `dlq redrive`'s default count. */
export async function deadLetterDepth(q: DeadLetterQueues): Promise<number> {
  const out = await q.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: q.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  const depth = Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
  return Number.isFinite(depth) ? depth : 0;
}
