import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config/load.js';
import type { Clock } from '../core/clock.js';
import type { Handler } from '../core/handler.js';
import type { IdempotencyStore } from '../core/idempotency-store.js';
import { IdempotencyService } from '../core/idempotency.js';
import type { Logger } from '../core/logger.js';
import type { BodyCheck } from '../core/body-check.js';
import type { PipelineDeps } from '../core/pipeline.js';
import type { Tracing } from '../core/tracing.js';
import { createDynamoClient, createSqsClient, type AwsSettings } from '../aws/clients.js';
import { awsSettings, type Connection } from '../aws/connect.js';
import { DynamoDbIdempotencyStore } from '../aws/dynamodb-store.js';
import { probeQueue } from '../aws/queues.js';
import { SqsConsumerPoller } from '../aws/sqs-consumer-poller.js';
import { SqsQueue } from '../aws/sqs-queue.js';
import { BatchingQueue } from '../worker/batching-queue.js';
import { defaultReceiveConcurrency } from '../worker/capacity.js';
import { leaseClockSkewMs } from '../worker/lease.js';
import { WorkerRuntime } from '../worker/runtime.js';
import { StoreCircuit } from '../worker/store-gate.js';

/*
 * The factories the worker is built from, shared by the composition root (app.ts, for `start`)
 * and the one-shot commands (cli/): each builds one thing from the config and opens nothing.
 */

export const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** `<host>-<pid>`: names this process in record owners. */
export function defaultInstanceId(suffix = ''): string {
  return `${hostname()}-${process.pid}${suffix}`;
}

export interface Clients {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  /** Where they send their requests (one reading of the config, for messages that name them). */
  readonly settings: AwsSettings;
  destroy(): void;
}

/**
 * Clients for commands that need no queue URL (`table create`, `queue create`): the configured
 * AWS settings, or the embedded emulators of a running daemon. The caller destroys them.
 */
export function createClients(config: Config): Clients {
  const settings = awsSettings(config);
  const sqs = createSqsClient(settings);
  const dynamodb = createDynamoClient(settings);
  return {
    sqs,
    dynamodb,
    settings,
    destroy() {
      sqs.destroy();
      dynamodb.destroy();
    },
  };
}

/** The idempotency table of a connection, for the worker and for `records` and `GET /records`. */
export function createStore(config: Config, connection: Connection): DynamoDbIdempotencyStore {
  return new DynamoDbIdempotencyStore(connection.dynamodb, config.idempotency.table);
}

/** A circuit breaker on a store: receiving pauses while it fails; probes read its generation. */
export function storeCircuit(store: IdempotencyStore, namespace: string, clock: Clock): StoreCircuit {
  return new StoreCircuit({ probe: () => store.generation(namespace), clock });
}

/** The leases' clock-skew margin of this config (LEASE_CLOCK_SKEW or its default). */
export function skewMs(config: Config): number {
  return leaseClockSkewMs(config.idempotency.clockSkewMs, config.visibilityTimeoutSeconds);
}

/** How long the receive loop pauses after failed receives in a row (doubling up to the max). */
const POLL_FAILURE_BACKOFF = { baseMs: 1000, maxMs: 20_000 };

export interface RuntimeParts {
  readonly handler: Handler;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly instanceId: string;
  /** Default: the DynamoDB table of the config. */
  readonly store?: IdempotencyStore | undefined;
  /** Body check (MESSAGE_SCHEMA, see bodyCheckFor); none when undefined. */
  readonly validate: PipelineDeps['validate'] | undefined;
  /** Stop receiving after this many messages (consume --count). */
  readonly receiveLimit?: number | undefined;
  /** Spans per delivery (core/tracing.ts); default none. */
  readonly tracing?: Tracing | undefined;
  /** The store's circuit breaker, on `store` (default: one made here, probing that store). */
  readonly circuit?: StoreCircuit | undefined;
}

/**
 * MESSAGE_SCHEMA's body check, or undefined when none is set. Ajv (and its formats) is loaded only
 * then: some 90 modules a worker without a schema never needs, in the memory of every process.
 */
export async function bodyCheckFor(path: string | undefined): Promise<BodyCheck | undefined> {
  if (path === undefined) return undefined;
  const { loadBodyCheck } = await import('../handlers/message-schema.js');
  return loadBodyCheck(path);
}

/**
 * A WorkerRuntime on a connection's queue: the SQS adapter, sqs-consumer as the poller (which
 * pauses while the store's circuit breaker is open), the idempotency service on the store.
 * Shared by `start` (createApp), `consume`, and the tests.
 */
export function createRuntime(config: Config, connection: Connection, parts: RuntimeParts): WorkerRuntime {
  const { idempotency: settings } = config;
  const { validate } = parts;
  const store = parts.store ?? createStore(config, connection);
  const circuit = parts.circuit ?? storeCircuit(store, connection.namespace, parts.clock);
  const idempotency = new IdempotencyService({
    store: circuit.watch(store),
    clock: parts.clock,
    namespace: connection.namespace,
    instanceId: parts.instanceId,
    leaseMs: config.visibilityTimeoutSeconds * 1000,
    retentionSeconds: settings.retentionSeconds,
    cacheSize: settings.cacheSize,
  });
  const { sqs, queueUrl, dlqUrl } = connection;
  return new WorkerRuntime({
    queue: new BatchingQueue(new SqsQueue(sqs, queueUrl), config.batchFlushMs, parts.clock),
    deadLetters: dlqUrl === undefined ? undefined : new SqsQueue(sqs, dlqUrl),
    source: new SqsConsumerPoller({
      sqs,
      queueUrl,
      batchSize: config.batchSize,
      waitTimeSeconds: config.waitTimeSeconds,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      clock: parts.clock,
      failureBackoff: POLL_FAILURE_BACKOFF,
      gate: circuit,
      concurrency:
        config.receiveConcurrency ?? defaultReceiveConcurrency(config.maxInFlight, config.batchSize),
    }),
    probe: () => probeQueue(sqs, queueUrl),
    idempotency,
    handler: parts.handler,
    logger: parts.logger,
    clock: parts.clock,
    keyAttribute: settings.keyAttribute,
    envelope: config.messageEnvelope,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    skewMs: skewMs(config),
    maxInFlight: config.maxInFlight,
    handlerTimeoutMs: config.handlerTimeoutMs,
    backoff: config.backoff,
    validate,
    receiveLimit: parts.receiveLimit,
    tracing: parts.tracing,
  });
}
