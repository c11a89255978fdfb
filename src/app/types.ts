import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { Handler } from '../core/handler.js';
import type { IdempotencyStore, RecordStore } from '../core/idempotency-store.js';
import type { StoreBatchingChoice } from '../core/store-batch.js';
import type { Metrics } from '../observability/metrics.js';

/** Anything the composition root creates can be replaced, for tests and for library users. */
export interface AppOverrides {
  readonly handler?: Handler | undefined;
  readonly clock?: Clock | undefined;
  /** Both halves of the store: the worker claims through it, GET /records reads it. */
  readonly store?: (IdempotencyStore & RecordStore) | undefined;
  /** Clients for a real queue and table; they are the caller's to destroy. (No `| undefined`: passed on as aws/connect.ts's Clients.) */
  readonly sqs?: SQSClient;
  readonly dynamodb?: DynamoDBClient;
  /** The metrics registry (default: a new one; never the global registry). */
  readonly registry?: Registry | undefined;
  /** A pino logger; or only where the default logger writes (`logDestination`). */
  readonly logger?: PinoLogger | undefined;
  readonly logDestination?: DestinationStream | undefined;
  readonly instanceId?: string | undefined;
}

export interface AppEndpoints {
  readonly http: string;
  readonly queueUrl: string;
  readonly dlqUrl: string | undefined;
  readonly sqsEndpoint: string | undefined;
  readonly dynamodbEndpoint: string | undefined;
  readonly embedded: boolean;
}

export interface App {
  start(): Promise<AppEndpoints>;
  stop(): Promise<void>;
  readonly metrics: Metrics;
  readonly server: FastifyInstance;
  /**
   * Whether the worker's first claims and completes go to the store in batches (STORE_BATCHING),
   * as chosen at start; undefined before. For /status.json.
   */
  storeBatching(): StoreBatchingChoice | undefined;
}
