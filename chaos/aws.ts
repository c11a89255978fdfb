import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetter, RecordState } from './counters.js';

/** The harness's own clients, straight to the emulators (never through the fault proxies). */
export interface Aws {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  close(): void;
}

const credentials = { accessKeyId: 'chaos', secretAccessKey: 'chaos' };

export function awsClients(sqsPort: number, dynamoPort: number): Aws {
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${sqsPort}`, credentials });
  const dynamodb = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${dynamoPort}`,
    credentials,
  });
  return {
    sqs,
    dynamodb,
    close() {
      sqs.destroy();
      dynamodb.destroy();
    },
  };
}

export interface OutgoingChaosMessage {
  readonly key: string;
  readonly body: string;
}

/** Sends messages in batches of ten, each with its IdempotencyKey attribute. */
export async function sendMessages(
  aws: Aws,
  queueUrl: string,
  messages: readonly OutgoingChaosMessage[],
): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const batch = messages.slice(i, i + 10);
    const out = await aws.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((m, j) => ({
          Id: String(j),
          MessageBody: m.body,
          MessageAttributes: { IdempotencyKey: { DataType: 'String', StringValue: m.key } },
        })),
      }),
    );
    if (out.Failed && out.Failed.length > 0) throw new Error(`send failed: ${JSON.stringify(out.Failed)}`);
  }
}

/** Visible plus in-flight plus delayed messages of a queue. */
export async function queueDepth(aws: Aws, queueUrl: string): Promise<number> {
  const out = await aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Receives and deletes every visible message of the DLQ: its key and DeadLetterReason. */
export async function drainDeadLetters(aws: Aws, dlqUrl: string): Promise<DeadLetter[]> {
  const found: DeadLetter[] = [];
  for (let round = 0; round < 1000; round++) {
    const out = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      found.push({
        key: m.MessageAttributes?.IdempotencyKey?.StringValue,
        reason: m.MessageAttributes?.DeadLetterReason?.StringValue ?? 'SQS_REDRIVE',
      });
    }
    await aws.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
  return found;
}

/** Records of one namespace: how many of each status, and each key's status and fence (a full scan: the chaos table is small). */
export async function recordStates(
  aws: Aws,
  table: string,
  namespace: string,
): Promise<{ statuses: Record<string, number>; records: Map<string, RecordState> }> {
  const statuses: Record<string, number> = {};
  const records = new Map<string, RecordState>();
  const prefix = `${namespace}#`;
  let start: Record<string, AttributeValue> | undefined;
  for (let page = 0; page < 10_000; page++) {
    const out = await aws.dynamodb.send(
      new ScanCommand({
        TableName: table,
        ConsistentRead: true,
        FilterExpression: 'begins_with(pk, :ns)',
        ExpressionAttributeValues: { ':ns': { S: prefix } },
        ProjectionExpression: 'pk, #s, fence',
        ExpressionAttributeNames: { '#s': 'status' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      const status = item.status?.S ?? '?';
      statuses[status] = (statuses[status] ?? 0) + 1;
      const pk = item.pk?.S ?? '';
      records.set(pk.slice(prefix.length), { status, fence: Number(item.fence?.N ?? NaN) });
    }
    start = out.LastEvaluatedKey;
    if (!start) break;
  }
  return { statuses, records };
}
