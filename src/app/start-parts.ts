import type { Config } from '../config/load.js';
import { checkListenAddresses } from '../config/machine.js';
import type { Clock } from '../core/clock.js';
import type { StoreUnavailableError } from '../core/errors.js';
import type { Handler } from '../core/handler.js';
import type { IdempotencyStore, RecordStore } from '../core/idempotency-store.js';
import type { Logger } from '../core/logger.js';
import type { BodyCheck } from '../core/body-check.js';
import type { StoreBatchingChoice } from '../core/store-batch.js';
import type { Connection } from '../aws/connect.js';
import { DynamoDbStoreBatch, probeStoreBatching } from '../aws/dynamodb-batch.js';
import { TableWatch } from '../aws/table-watch.js';
import { resolveHandler } from '../handlers/index.js';
import type { HealthMonitor } from '../observability/health.js';
import type { Metrics } from '../observability/metrics.js';
import {
  instrumentSqsClient,
  startQueueDepthPoller,
  type QueueDepthPoller,
} from '../observability/sqs-metrics.js';
import { TimedIdempotencyStore, TimedRecordStore } from '../observability/timed-store.js';
import { BatchingStore } from '../worker/batching-store.js';
import { bodyCheckFor, createStore } from './parts.js';
import type { AppOverrides } from './types.js';

/*
 * The parts only the worker's start builds (the CLI's commands share ./parts.ts instead): the
 * checks before anything opens, STORE_BATCHING's choice, and the metrics around the AWS side.
 */

const TABLE_RECHECK_MS = 5000;

/**
 * What start() checks before it opens anything: the handler module loads and exports handle,
 * the MESSAGE_SCHEMA file holds a schema Ajv compiles, the sidecar's host resolves and the ports
 * to listen on are free. Each failure is a ConfigError naming its variable.
 */
export async function checkBeforeStart(
  config: Config,
  overrides: AppOverrides,
): Promise<{ handler: Handler; validate: BodyCheck | undefined }> {
  const handler = overrides.handler ?? (await resolveHandler(config.handler, config));
  const validate = await bodyCheckFor(config.messageSchema);
  await checkListenAddresses(config);
  return { handler, validate };
}

/**
 * STORE_BATCHING: batched first claims and completes when the table takes BatchExecuteStatement,
 * found out once, here (dynalite does not: single calls). A store given to createApp is used as it is.
 */
export async function chooseStoreBatching(
  config: Config,
  connection: Connection,
  given: boolean,
): Promise<StoreBatchingChoice> {
  if (given) return { mode: 'single', reason: 'a store was given to createApp' };
  const { batching, table } = config.idempotency;
  if (batching === 'off') return { mode: 'single', reason: 'STORE_BATCHING=off' };
  return probeStoreBatching(connection.dynamodb, table, connection.namespace);
}

export interface InstrumentParts {
  readonly metrics: Metrics;
  readonly health: HealthMonitor;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Default: the DynamoDB table of the config. */
  readonly store: (IdempotencyStore & RecordStore) | undefined;
  readonly batching: {
    readonly choice: StoreBatchingChoice;
    readonly gaveUp: (reason: string) => void;
    /** The runtime's in-flight count: completes stop waiting when every held message has one waiting. */
    readonly held: () => number;
  };
}

/**
 * Metrics around the AWS side: SQS calls counted by a client middleware, and the idempotency
 * store timed by a decorator (which also tells the table watch when the table is gone). The
 * table watch checks nothing until its whenReady() or a store call's failure.
 */
export function instrument(
  config: Config,
  connection: Connection,
  parts: InstrumentParts,
): { tableWatch: TableWatch; store: IdempotencyStore; records: RecordStore } {
  const { metrics, health, logger } = parts;
  instrumentSqsClient(connection.sqs, metrics.sqsRequests);
  const tableWatch = new TableWatch({
    client: connection.dynamodb,
    table: config.idempotency.table,
    health,
    logger,
    recheckMs: TABLE_RECHECK_MS,
    maxFailures: config.health.maxStoreFailures,
    clock: parts.clock,
  });
  const inner = parts.store ?? createStore(config, connection);
  const hot =
    parts.batching.choice.mode === 'batched'
      ? batchingStore(config, connection, inner, {
          ...parts.batching,
          clock: parts.clock,
          // A batch is a store call too: readiness hears of a stalled store from it, not only later from the single calls.
          onRequest: (failure) =>
            tableWatch.onStoreResult('claim', failure === undefined ? 'ok' : 'error', failure),
        })
      : inner;
  const store = new TimedIdempotencyStore(hot, metrics.storeDuration, tableWatch.onStoreResult);
  const records = new TimedRecordStore(inner, metrics.storeDuration, tableWatch.onStoreResult);
  return { tableWatch, store, records };
}

/** Queue depths (the queue and its DLQ) read every QUEUE_METRICS_INTERVAL, from now on. */
export function startDepthPoller(
  config: Config,
  connection: Connection,
  parts: { readonly metrics: Metrics; readonly logger: Logger; readonly clock: Clock },
): QueueDepthPoller {
  return startQueueDepthPoller({
    sqs: connection.sqs,
    queues: { main: connection.queueUrl, dlq: connection.dlqUrl },
    intervalMs: config.queueMetricsIntervalMs,
    gauge: parts.metrics.queueMessages,
    logger: parts.logger,
    clock: parts.clock,
  });
}

/**
 * The hot path in batches (worker/batching-store.ts). A batch request gets one request's timeout
 * (DYNAMODB_REQUEST_TIMEOUT), not the retries of a single call: what it could not settle goes
 * through the single calls, with their retries and own-write recognition, so a slow store costs a
 * claim at most one request's timeout more than before, and readiness hears of it as early.
 */
function batchingStore(
  config: Config,
  connection: Connection,
  single: IdempotencyStore,
  hooks: {
    readonly gaveUp: (reason: string) => void;
    readonly held: () => number;
    readonly onRequest: (failure: StoreUnavailableError | undefined) => void;
    readonly clock: Clock;
  },
): BatchingStore {
  return new BatchingStore(single, new DynamoDbStoreBatch(connection.dynamodb, config.idempotency.table), {
    windowMs: config.batchFlushMs,
    timeoutMs: config.awsCalls.dynamodbRequestTimeoutMs,
    onGiveUp: hooks.gaveUp,
    held: hooks.held,
    onRequest: hooks.onRequest,
    clock: hooks.clock,
  });
}
