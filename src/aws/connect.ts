import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import { createDynamoClient, createSqsClient, type AwsSettings } from './clients.js';
import { startEmulators, type EmbeddedEmulators } from './embedded.js';
import { createQueuePair, findDeadLetterQueue, queueNameFromUrl } from './queues.js';
import { createTable, TTL_UNSUPPORTED } from './table.js';

/** The AWS side of the worker: clients, the queue and its dead-letter queue. */
export interface Connection {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  readonly queueUrl: string;
  readonly dlqUrl: string | undefined;
  readonly aws: AwsSettings;
  /** True when the queue and table live in the embedded emulators. */
  readonly embedded: boolean;
  /** Idempotency namespace: IDEMPOTENCY_NAMESPACE, else the queue name. */
  readonly namespace: string;
  close(): Promise<void>;
}

/** Clients a caller brings (library users, tests); the rest are created from the config. */
export interface Clients {
  readonly sqs?: SQSClient;
  readonly dynamodb?: DynamoDBClient;
}

const EMBEDDED_CREDENTIALS = { accessKeyId: 'embedded', secretAccessKey: 'embedded' };

/**
 * `host`: with no SQS_QUEUE_URL, start the emulators in this process and create the queues and
 * table (what `start` does). `client`: with no SQS_QUEUE_URL, reach the emulators of a daemon
 * already running on this machine (what the other commands do).
 */
export async function connect(
  config: Config,
  role: 'host' | 'client',
  logger: Logger,
  clients: Clients = {},
): Promise<Connection> {
  if (config.queueUrl !== undefined) {
    const queueUrl = config.queueUrl;
    const sqs = clients.sqs ?? createSqsClient(config);
    const dynamodb = clients.dynamodb ?? createDynamoClient(config);
    const dlqUrl = await closingOnFailure({ sqs, dynamodb }, clients, undefined, () =>
      findDeadLetterQueue(sqs, queueUrl),
    );
    if (!dlqUrl) {
      logger.warn(
        { queueUrl },
        'the queue has no redrive policy: permanent failures cannot be dead-lettered',
      );
    }
    return finish(config, { sqs, dynamodb, queueUrl, dlqUrl, aws: config, embedded: false }, clients);
  }
  const emulators =
    role === 'host'
      ? await startEmulators({ sqs: config.embedded.sqsPort, dynamodb: config.embedded.dynamodbPort })
      : undefined;
  const aws = emulators
    ? endpoints(config, emulators.sqsEndpoint, emulators.dynamodbEndpoint)
    : awsSettings(config);
  const sqs = clients.sqs ?? createSqsClient(aws);
  const dynamodb = clients.dynamodb ?? createDynamoClient(aws);
  const queues = await closingOnFailure({ sqs, dynamodb }, clients, emulators, () =>
    emulators ? createEmbedded(config, { sqs, dynamodb }, logger) : findEmbedded(config, sqs),
  );
  return finish(config, { sqs, dynamodb, ...queues, aws, embedded: true }, clients, emulators);
}

/** Runs `step`; when it fails, closes what connect() opened for it (not injected clients) first. */
async function closingOnFailure<T>(
  opened: Required<Clients>,
  injected: Clients,
  emulators: EmbeddedEmulators | undefined,
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!injected.sqs) opened.sqs.destroy();
    if (!injected.dynamodb) opened.dynamodb.destroy();
    await emulators?.stop().catch(() => {});
    throw error;
  }
}

/** Embedded mode, in the process that hosts the emulators: the queue, its DLQ and the table. */
async function createEmbedded(
  config: Config,
  { sqs, dynamodb }: Required<Clients>,
  logger: Logger,
): Promise<{ queueUrl: string; dlqUrl: string | undefined }> {
  const pair = await createQueuePair(sqs, config.embedded.queueName, {
    maxReceiveCount: config.maxReceiveCount,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
  });
  const table = await createTable(dynamodb, config.idempotency.table);
  if (table.ttl === TTL_UNSUPPORTED) {
    logger.info(
      { table: config.idempotency.table },
      'the embedded DynamoDB (dynalite) has no TTL: expired records are ignored, not deleted',
    );
  } else if ('ttlError' in table) {
    logger.warn(
      { table: config.idempotency.table, error: table.ttlError },
      'TTL not enabled: records expire only logically',
    );
  }
  return pair;
}

/** Embedded mode, from another process: the running daemon's queue and its DLQ. */
async function findEmbedded(
  config: Config,
  sqs: SQSClient,
): Promise<{ queueUrl: string; dlqUrl: string | undefined }> {
  const found = await sqs.send(new GetQueueUrlCommand({ QueueName: config.embedded.queueName }));
  const queueUrl = found.QueueUrl ?? '';
  return { queueUrl, dlqUrl: await findDeadLetterQueue(sqs, queueUrl) };
}

/**
 * Where a command outside the daemon sends its requests: the configured AWS settings, or with no
 * SQS_QUEUE_URL, the embedded emulators of a daemon running on this machine.
 */
export function awsSettings(config: Config): AwsSettings {
  if (config.queueUrl !== undefined) return config;
  return endpoints(
    config,
    config.sqsEndpoint ?? `http://127.0.0.1:${config.embedded.sqsPort}`,
    config.dynamodbEndpoint ?? `http://127.0.0.1:${config.embedded.dynamodbPort}`,
  );
}

function endpoints(config: Config, sqsEndpoint: string, dynamodbEndpoint: string): AwsSettings {
  const { region, awsCalls, maxInFlight } = config;
  return { region, sqsEndpoint, dynamodbEndpoint, credentials: EMBEDDED_CREDENTIALS, awsCalls, maxInFlight };
}

function finish(
  config: Config,
  parts: Omit<Connection, 'close' | 'namespace'>,
  injected: Clients,
  emulators?: EmbeddedEmulators,
): Connection {
  return {
    ...parts,
    namespace: config.idempotency.namespace ?? queueNameFromUrl(parts.queueUrl),
    async close() {
      // Clients the caller injected are the caller's to destroy.
      if (!injected.sqs) parts.sqs.destroy();
      if (!injected.dynamodb) parts.dynamodb.destroy();
      await emulators?.stop();
    },
  };
}
