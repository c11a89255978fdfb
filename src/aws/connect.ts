import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import { createDynamoClient, createSqsClient, type AwsSettings } from './clients.js';
import { startEmulators, type EmbeddedEmulators } from './embedded.js';
import { createQueuePair, findDeadLetterQueue, queueNameFromUrl } from './queues.js';
import { createTable } from './table.js';

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
    const sqs = clients.sqs ?? createSqsClient(config);
    const dynamodb = clients.dynamodb ?? createDynamoClient(config);
    const dlqUrl = await findDeadLetterQueue(sqs, config.queueUrl);
    if (!dlqUrl) {
      logger.warn(
        { queueUrl: config.queueUrl },
        'the queue has no redrive policy: permanent failures cannot be dead-lettered',
      );
    }
    const parts = { sqs, dynamodb, queueUrl: config.queueUrl, dlqUrl, aws: config, embedded: false };
    return finish(config, parts, clients);
  }
  let emulators: EmbeddedEmulators | undefined;
  let aws: AwsSettings;
  if (role === 'host') {
    emulators = await startEmulators({
      sqs: config.embedded.sqsPort,
      dynamodb: config.embedded.dynamodbPort,
    });
    aws = { ...endpoints(config, emulators.sqsEndpoint, emulators.dynamodbEndpoint) };
  } else {
    aws = awsSettings(config);
  }
  const sqs = clients.sqs ?? createSqsClient(aws);
  const dynamodb = clients.dynamodb ?? createDynamoClient(aws);
  let queueUrl: string;
  let dlqUrl: string | undefined;
  if (role === 'host') {
    ({ queueUrl, dlqUrl } = await createQueuePair(sqs, config.embedded.queueName, {
      maxReceiveCount: config.maxReceiveCount,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    }));
    const table = await createTable(dynamodb, config.idempotency.table);
    if (!table.ttl) {
      logger.warn(
        { table: config.idempotency.table, error: table.ttlError },
        'the store has no TTL: records expire only logically',
      );
    }
  } else {
    const found = await sqs.send(new GetQueueUrlCommand({ QueueName: config.embedded.queueName }));
    queueUrl = found.QueueUrl ?? '';
    dlqUrl = await findDeadLetterQueue(sqs, queueUrl);
  }
  return finish(config, { sqs, dynamodb, queueUrl, dlqUrl, aws, embedded: true }, clients, emulators);
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
