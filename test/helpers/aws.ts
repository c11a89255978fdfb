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
import { silentLogger } from '../../src/core/logger.js';
import { createDynamoClient, createSqsClient, type AwsSettings } from '../../src/aws/clients.js';
import { startEmulators, type EmbeddedEmulators } from '../../src/aws/embedded.js';
import { createQueuePair, type QueuePair } from '../../src/aws/queues.js';
import { createTable } from '../../src/aws/table.js';
import type { WorkerRuntime } from '../../src/worker/runtime.js';
import { bodyCheckFor, createRuntime } from '../../src/app/parts.js';
import { connect } from '../../src/aws/connect.js';
import { loadConfig } from '../../src/config/load.js';
import { useResource } from './hooks.js';
import { TEST_AWS_CALLS, TEST_ENV } from './test-limits.js';

/**
 * fauxqs and dynalite in this process on random loopback ports, with clients for them. The
 * settings carry the tests' generous AWS timeouts (test-limits.ts): clients made from them get
 * those too.
 */
export interface TestAws {
  readonly emulators: EmbeddedEmulators;
  readonly settings: AwsSettings;
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
}

/** A TestAws the caller started and must close. */
export interface StartedTestAws extends TestAws {
  close(): Promise<void>;
}

/**
 * The emulators for the tests of a describe block (or a file): started in a `beforeAll`, closed in
 * an `afterAll` that this registers. The handle's fields are valid from that `beforeAll` on.
 */
export function useTestAws(): TestAws {
  return useResource<StartedTestAws>('useTestAws()', startTestAws, (aws) => aws.close());
}

export async function startTestAws(): Promise<StartedTestAws> {
  const emulators = await startEmulators({ sqs: 0, dynamodb: 0 });
  const settings: AwsSettings = {
    region: 'us-east-1',
    sqsEndpoint: emulators.sqsEndpoint,
    dynamodbEndpoint: emulators.dynamodbEndpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    awsCalls: TEST_AWS_CALLS,
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

/**
 * The configuration variables that point a worker at a fixture on the test's emulators, with a
 * 1 s long poll; callers add their own after (an endpoint behind a proxy, say).
 */
export function fixtureEnv(aws: TestAws, f: Fixture): Record<string, string> {
  return {
    SQS_QUEUE_URL: f.queueUrl,
    AWS_ENDPOINT_URL_SQS: aws.emulators.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: aws.emulators.dynamodbEndpoint,
    IDEMPOTENCY_TABLE: f.table,
    IDEMPOTENCY_NAMESPACE: f.name,
    SQS_WAIT_TIME_SECONDS: '1',
  };
}

/**
 * A worker runtime on a fixture, built by the composition root (app.ts) exactly as `start` builds
 * it, from a config of the test's emulators plus `env`, with the test's clients injected.
 */
export async function runtime(
  aws: TestAws,
  f: Fixture,
  handler: Handler,
  options: { instanceId?: string; env?: Record<string, string>; sqs?: SQSClient } = {},
): Promise<WorkerRuntime> {
  const config = loadConfig({
    ...fixtureEnv(aws, f),
    RETRY_BACKOFF_BASE: '1',
    RETRY_BACKOFF_MAX: '1',
    HANDLER_TIMEOUT: '0',
    IDEMPOTENCY_RETENTION_SECONDS: '3600',
    ...TEST_ENV,
    ...options.env,
  });
  const connection = await connect(config, 'client', silentLogger, {
    sqs: options.sqs ?? aws.sqs,
    dynamodb: aws.dynamodb,
  });
  return createRuntime(config, connection, {
    handler,
    logger: silentLogger,
    clock: systemClock,
    instanceId: options.instanceId ?? 'test',
    validate: await bodyCheckFor(config.messageSchema),
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
