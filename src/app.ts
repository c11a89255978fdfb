import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Config } from './config/load.js';
import { describeError } from './core/errors.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Handler } from './core/handler.js';
import type { IdempotencyStore } from './core/idempotency-store.js';
import { resolveHandler } from './handlers/index.js';
import { buildServer, type HealthReport } from './http/server.js';
import { connect, type Connection } from './infra/connect.js';
import { createLogger } from './infra/logger.js';
import { createMetrics, type Metrics } from './infra/metrics.js';
import { observeRuntime } from './infra/observe.js';
import { seedMessages } from './infra/seed.js';
import { checkTable, type TableStatus } from './infra/table.js';
import { createRuntime } from './worker/create.js';
import type { WorkerRuntime } from './worker/runtime.js';

export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Anything the composition root creates can be replaced, for tests and for library users. */
export interface AppOverrides {
  readonly handler?: Handler;
  readonly clock?: Clock;
  readonly store?: IdempotencyStore;
  readonly logDestination?: DestinationStream;
  readonly instanceId?: string;
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
}

const TABLE_RECHECK_MS = 5000;

/** The composition root: creates every client and service once and wires them together. */
export function createApp(config: Config, overrides: AppOverrides = {}): App {
  const logger = createLogger(config.logLevel, overrides.logDestination);
  const clock = overrides.clock ?? systemClock;
  const metrics = createMetrics(VERSION);
  const instanceId = overrides.instanceId ?? `${hostname()}-${process.pid}`;

  let connection: Connection | undefined;
  let runtime: WorkerRuntime | undefined;
  let table: TableStatus = { ok: false, reason: 'unreachable', detail: 'not checked yet' };
  let tableTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let started = false;

  const readiness = (): HealthReport => {
    const checks = {
      started:
        started && !stopping ? { ok: true } : { ok: false, detail: stopping ? 'stopping' : 'starting' },
      poll:
        runtime?.lastPollAt !== undefined
          ? { ok: true }
          : { ok: false, detail: 'no successful receive from the queue yet' },
      table: table.ok ? { ok: true } : { ok: false, detail: table.detail },
    };
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  };

  const server = buildServer({
    registry: metrics.registry,
    liveness: () => ({ ok: true, checks: { process: { ok: true } } }),
    readiness,
    seed: async (request) => {
      if (!connection) throw new Error('the worker has not started yet');
      return seedMessages(connection.sqs, connection.queueUrl, config.idempotency.keyAttribute, request);
    },
  });

  async function start(): Promise<AppEndpoints> {
    const handler = overrides.handler ?? (await resolveHandler(config.handler));
    connection = await connect(config, 'host', logger);
    const { dynamodb, queueUrl, dlqUrl } = connection;
    runtime = createRuntime(config, connection, {
      handler,
      logger,
      clock,
      instanceId,
      ...(overrides.store ? { store: overrides.store } : {}),
    });
    observeRuntime(runtime, metrics, logger);

    const address = await server.listen({ host: config.http.host, port: config.http.port });
    await startWhenTableIsReady(dynamodb, runtime);
    started = true;
    const endpoints: AppEndpoints = {
      http: address,
      queueUrl,
      dlqUrl,
      sqsEndpoint: connection.aws.sqsEndpoint,
      dynamodbEndpoint: connection.aws.dynamodbEndpoint,
      embedded: connection.embedded,
    };
    logger.info({ ...endpoints, instanceId, namespace: connection.namespace }, 'worker started');
    if (connection.embedded) {
      logger.info(
        {},
        `embedded mode: in-process SQS at ${endpoints.sqsEndpoint} and DynamoDB at ${endpoints.dynamodbEndpoint}. ` +
          `Seed it: curl -s -XPOST ${address}/seed -H 'content-type: application/json' -d '{"count":10,"duplicates":3}'`,
      );
    }
    return endpoints;
  }

  /** The consumer starts only once the table is usable: claims against a missing table would burn receives. */
  async function startWhenTableIsReady(client: Connection['dynamodb'], worker: WorkerRuntime): Promise<void> {
    table = await checkTable(client, config.idempotency.table);
    if (table.ok) {
      await worker.start();
      return;
    }
    logger.error(
      { table: config.idempotency.table, reason: table.reason, detail: table.detail },
      'idempotency table not usable',
    );
    tableTimer = setTimeout(() => {
      if (stopping) return;
      startWhenTableIsReady(client, worker).catch((error: unknown) =>
        logger.error({ error: describeError(error) }, 'the worker could not start polling'),
      );
    }, TABLE_RECHECK_MS);
  }

  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    clearTimeout(tableTimer);
    logger.info({ inFlight: runtime?.inFlight ?? 0 }, 'stopping: draining in-flight messages');
    await runtime?.stop(config.shutdownTimeoutMs);
    await server.close();
    await connection?.close();
    logger.info({}, 'stopped');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }

  return { start, stop, metrics, server };
}
