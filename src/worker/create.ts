import type { Config } from '../config/load.js';
import type { Clock } from '../core/clock.js';
import type { Handler } from '../core/handler.js';
import { IdempotencyService } from '../core/idempotency.js';
import type { IdempotencyStore } from '../core/idempotency-store.js';
import type { Logger } from '../core/logger.js';
import type { PipelineDeps } from '../core/pipeline.js';
import type { Connection } from '../aws/connect.js';
import { DynamoDbIdempotencyStore } from '../aws/dynamodb-store.js';
import { loadBodyCheck } from '../core/message-schema.js';
import { WorkerRuntime } from './runtime.js';

export interface RuntimeParts {
  readonly handler: Handler;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly instanceId: string;
  /** Default: the DynamoDB table of the config. */
  readonly store?: IdempotencyStore;
  /** Body check (MESSAGE_SCHEMA). */
  readonly validate?: PipelineDeps['validate'];
  /** Stop receiving after this many messages (consume --count). */
  readonly receiveLimit?: number;
}

/** A WorkerRuntime for a connection, configured from Config: shared by `start` and `consume`. */
export function createRuntime(config: Config, connection: Connection, parts: RuntimeParts): WorkerRuntime {
  const validate = parts.validate ?? (config.messageSchema ? loadBodyCheck(config.messageSchema) : undefined);
  const store = parts.store ?? new DynamoDbIdempotencyStore(connection.dynamodb, config.idempotency.table);
  const idempotency = new IdempotencyService({
    store,
    clock: parts.clock,
    namespace: connection.namespace,
    instanceId: parts.instanceId,
    leaseMs: config.visibilityTimeoutSeconds * 1000,
    retentionSeconds: config.idempotency.retentionSeconds,
    cacheSize: config.idempotency.cacheSize,
  });
  return new WorkerRuntime({
    sqs: connection.sqs,
    queueUrl: connection.queueUrl,
    dlqUrl: connection.dlqUrl,
    idempotency,
    handler: parts.handler,
    logger: parts.logger,
    clock: parts.clock,
    keyAttribute: config.idempotency.keyAttribute,
    waitTimeSeconds: config.waitTimeSeconds,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    batchSize: config.batchSize,
    maxInFlight: config.maxInFlight,
    handlerTimeoutMs: config.handlerTimeoutMs,
    backoff: config.backoff,
    ...(validate ? { validate } : {}),
    ...(parts.receiveLimit === undefined ? {} : { receiveLimit: parts.receiveLimit }),
  });
}
