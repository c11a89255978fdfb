import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { systemClock } from '../../src/core/clock.js';
import type { Handler } from '../../src/core/handler.js';
import { IdempotencyService } from '../../src/core/idempotency.js';
import { silentLogger } from '../../src/core/logger.js';
import { createDynamoClient, createSqsClient, type AwsSettings } from '../../src/aws/clients.js';
import { DynamoDbIdempotencyStore } from '../../src/aws/dynamodb-store.js';
import { startEmulators, type EmbeddedEmulators } from '../../src/aws/embedded.js';
import { createQueuePair, type QueuePair } from '../../src/aws/queues.js';
import { createTable } from '../../src/aws/table.js';
import { WorkerRuntime, type RuntimeOptions } from '../../src/worker/runtime.js';

/** fauxqs and dynalite in this process on random loopback ports, with clients for them. */
export interface TestAws {
  readonly emulators: EmbeddedEmulators;
  readonly settings: AwsSettings;
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  close(): Promise<void>;
}

export async function startTestAws(): Promise<TestAws> {
  const emulators = await startEmulators({ sqs: 0, dynamodb: 0 });
  const settings: AwsSettings = {
    region: 'us-east-1',
    sqsEndpoint: emulators.sqsEndpoint,
    dynamodbEndpoint: emulators.dynamodbEndpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const sqs = createSqsClient(settings);
  const dynamodb = createDynamoClient(settings);
  return {
    emulators,
    settings,
    sqs,
    dynamodb,
    async close() {
      sqs.destroy();
      dynamodb.destroy();
      await emulators.stop();
    },
  };
}

export interface Fixture extends QueuePair {
  readonly table: string;
  readonly name: string;
}

/** A fresh queue, dead-letter queue and table, so tests never see each other's messages. */
export async function fixture(
  aws: TestAws,
  options: { fifo?: boolean; visibility?: number; maxReceiveCount?: number } = {},
): Promise<Fixture> {
  const name = `t-${randomUUID().slice(0, 8)}${options.fifo ? '.fifo' : ''}`;
  const pair = await createQueuePair(aws.sqs, name, {
    maxReceiveCount: options.maxReceiveCount ?? 5,
    visibilityTimeoutSeconds: options.visibility ?? 30,
  });
  const table = `${name.replace('.fifo', '')}-records`;
  await createTable(aws.dynamodb, table);
  return { ...pair, table, name };
}

export function runtime(
  aws: TestAws,
  f: Fixture,
  handler: Handler,
  options: Partial<RuntimeOptions> & { instanceId?: string } = {},
): WorkerRuntime {
  const visibility = options.visibilityTimeoutSeconds ?? 30;
  const idempotency =
    options.idempotency ??
    new IdempotencyService({
      store: new DynamoDbIdempotencyStore(aws.dynamodb, f.table),
      clock: systemClock,
      namespace: f.name,
      instanceId: options.instanceId ?? 'test',
      leaseMs: visibility * 1000,
      retentionSeconds: 3600,
    });
  return new WorkerRuntime({
    sqs: aws.sqs,
    queueUrl: f.queueUrl,
    dlqUrl: f.dlqUrl,
    idempotency,
    handler,
    logger: silentLogger,
    clock: systemClock,
    keyAttribute: 'IdempotencyKey',
    waitTimeSeconds: 1,
    visibilityTimeoutSeconds: visibility,
    batchSize: 10,
    maxInFlight: 50,
    handlerTimeoutMs: 0,
    backoff: { baseMs: 1000, maxMs: 1000 },
    ...options,
  });
}

export interface Outgoing {
  readonly body: string;
  readonly key?: string;
  readonly groupId?: string;
  readonly attributes?: Record<string, MessageAttributeValue>;
}

export async function send(aws: TestAws, queueUrl: string, messages: readonly Outgoing[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const out = await aws.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.slice(i, i + 10).map((m, j) => ({
          Id: `m${i + j}`,
          MessageBody: m.body,
          MessageAttributes: {
            ...(m.key ? { IdempotencyKey: { DataType: 'String', StringValue: m.key } } : {}),
            ...m.attributes,
          },
          ...(m.groupId
            ? { MessageGroupId: m.groupId, MessageDeduplicationId: `${m.groupId}-${i + j}-${m.body}` }
            : {}),
        })),
      }),
    );
    if (out.Failed?.length) throw new Error(`send failed: ${JSON.stringify(out.Failed)}`);
  }
}

/** Receives whatever is visible in a queue now (for checking the dead-letter queue). */
export async function receiveAll(aws: TestAws, queueUrl: string): Promise<Message[]> {
  const out = await aws.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

export async function queueCounts(
  aws: TestAws,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number }> {
  const out = await aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}
