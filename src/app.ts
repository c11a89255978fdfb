import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from './config/load.js';
import { systemClock, type Clock } from './core/clock.js';
import { describeError, type StoreUnavailableError, WorkerError } from './core/errors.js';
import type { Handler } from './core/handler.js';
import type { IdempotencyStore, RecordStore } from './core/idempotency-store.js';
import type { Logger } from './core/logger.js';
import { resolveHandler } from './handlers/index.js';
import { seedAccess } from './http/access.js';
import { keyAccess } from './http/status-access.js';
import { buildServer } from './http/server.js';
import { createDynamoClient, createSqsClient } from './aws/clients.js';
import { awsSettings, connect, type Connection } from './aws/connect.js';
import { DynamoDbStoreBatch, probeStoreBatching } from './aws/dynamodb-batch.js';
import { DynamoDbIdempotencyStore } from './aws/dynamodb-store.js';
import { probeQueue } from './aws/queues.js';
import { SqsConsumerPoller } from './aws/sqs-consumer-poller.js';
import { SqsQueue } from './aws/sqs-queue.js';
import { TableWatch } from './aws/table-watch.js';
import { IdempotencyService } from './core/idempotency.js';
import type { BodyCheck } from './core/body-check.js';
import { loadBodyCheck } from './handlers/message-schema.js';
import { checkListenAddresses, listenError } from './config/machine.js';
import type { PipelineDeps } from './core/pipeline.js';
import type { StoreBatchingChoice } from './core/store-batch.js';
import { HealthMonitor, watchRuntime, watchStoreCircuit } from './observability/health.js';
import { createLogger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { observeRuntime, observeStoreCircuit } from './observability/observe.js';
import { startTracing } from './observability/tracing.js';
import { noTracing, queueNameOf, type Tracing } from './core/tracing.js';
import { RecentActivity } from './observability/recent.js';
import { listRecords, seedMessages } from './seeding/seed.js';
import {
  instrumentSqsClient,
  startQueueDepthPoller,
  type DepthReads,
  type QueueDepthPoller,
} from './observability/sqs-metrics.js';
import { TimedIdempotencyStore, TimedRecordStore } from './observability/timed-store.js';
import { BatchingQueue } from './worker/batching-queue.js';
import { BatchingStore } from './worker/batching-store.js';
import { defaultReceiveConcurrency } from './worker/capacity.js';
import { leaseClockSkewMs } from './worker/lease.js';
import { WorkerRuntime } from './worker/runtime.js';
import { StoreCircuit } from './worker/store-gate.js';

export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Anything the composition root creates can be replaced, for tests and for library users. */
export interface AppOverrides {
  readonly handler?: Handler;
  readonly clock?: Clock;
  /** Both halves of the store: the worker claims through it, GET /records reads it. */
  readonly store?: IdempotencyStore & RecordStore;
  /** Clients for a real queue and table; they are the caller's to destroy. */
  readonly sqs?: SQSClient;
  readonly dynamodb?: DynamoDBClient;
  /** The metrics registry (default: a new one; never the global registry). */
  readonly registry?: Registry;
  /** A pino logger; or only where the default logger writes (`logDestination`). */
  readonly logger?: PinoLogger;
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
  /**
   * Whether the worker's first claims and completes go to the store in batches (STORE_BATCHING),
   * as chosen at start; undefined before. For /status.json.
   */
  storeBatching(): StoreBatchingChoice | undefined;
}

const TABLE_RECHECK_MS = 5000;
/** stop() ends within SHUTDOWN_TIMEOUT plus this: the drain's own grace and the steps after it. */
export const STOP_MARGIN_MS = 10_000;
/** The most each step after the drain (HTTP server, connection, log flush) may take. */
const STOP_STEP_MS = 1000;
/** Kept from the drain for those steps. */
const STOP_TAIL_MS = 4 * STOP_STEP_MS;
/** Of its step, what the span exporter's last flush may take: a dead collector fails no stop. */
const TRACE_FLUSH_MS = STOP_STEP_MS - 200;

/** The composition root: creates every client and service once and wires them together. */
export function createApp(config: Config, overrides: AppOverrides = {}): App {
  const logger =
    overrides.logger ??
    createLogger(config.logLevel, overrides.logDestination, {
      redact: config.logRedact?.split(',') ?? [],
    });
  const clock = overrides.clock ?? systemClock;
  const metrics = createMetrics(VERSION, overrides.registry);
  const instanceId = overrides.instanceId ?? defaultInstanceId();

  let connection: Connection | undefined;
  let runtime: WorkerRuntime | undefined;
  let circuit: StoreCircuit | undefined;
  let store: IdempotencyStore | undefined;
  let records: RecordStore | undefined;
  let tableWatch: TableWatch | undefined;
  let queueDepth: QueueDepthPoller | undefined;
  let batching: StoreBatchingChoice | undefined;
  let stopping = false;
  /** Set once start() is past its checks: from then on stop() has things to close and report. */
  let openedAnything = false;
  /** OpenTelemetry when configured (OTEL_*), loaded by start(); until then and otherwise none. */
  let tracing: Tracing = noTracing;
  const health = new HealthMonitor({
    clock,
    waitTimeSeconds: config.waitTimeSeconds,
    handlerTimeoutMs: config.handlerTimeoutMs,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    maxInFlight: config.maxInFlight,
    maxPollFailures: config.health.maxPollFailures,
  });
  const started = (): { connection: Connection; records: RecordStore } => {
    if (!connection || !records) throw new Error('the worker has not started yet');
    return { connection, records };
  };

  // The status page's memory of recent deliveries, fed by the runtime's events like the metrics.
  const activity = new RecentActivity({ clock, redact: config.logRedact?.split(',') ?? [] });
  const server = buildSidecar(config, {
    metrics,
    health,
    logger,
    clock,
    started,
    activity,
    depthReads: () => queueDepth?.reads(),
    storeBatching: () => batching,
    tracing: () => tracing,
  });

  /** The start in progress or done; stop() waits for it before closing what it opened. */
  let starting: Promise<AppEndpoints> | undefined;
  let stopped: Promise<void> | undefined;
  let stopGaveUp = false;
  /** Between the steps of start(): a stop() was requested, so nothing more starts. */
  const unlessStopping = (): void => {
    if (stopping) throw new WorkerError('START_CANCELLED', 'start cancelled: stop() was called');
  };

  function start(): Promise<AppEndpoints> {
    starting ??= startSteps();
    return starting;
  }

  async function startSteps(): Promise<AppEndpoints> {
    unlessStopping();
    // Everything that can be checked before anything opens: a configuration error exits 2 with
    // no start or stop lines around it (docs/operations.md, "Exit codes and signals").
    const { handler, validate } = await checkBeforeStart(config, overrides);
    unlessStopping();
    openedAnything = true;
    tracing = await startTracing(config.tracing, { logger, serviceVersion: VERSION, instanceId });
    unlessStopping();
    const opened = await openConnection(config, 'host', logger, overrides);
    connection = opened;
    // A stop that gave up waiting for this start has passed its closing step: close it here.
    if (stopGaveUp) await opened.close().catch(() => {});
    unlessStopping();
    const { queueUrl, dlqUrl } = opened;
    batching = await chooseStoreBatching(config, opened, overrides.store !== undefined);
    logger.info(
      { storeBatching: batching.mode, reason: batching.reason },
      `idempotency store: ${batching.mode} writes`,
    );
    unlessStopping();
    const gaveUp = (reason: string) => {
      batching = { mode: 'single', reason };
      logger.warn({ storeBatching: 'single', reason }, 'idempotency store: batching stopped');
    };
    const instruments = instrument(config, opened, {
      metrics,
      health,
      logger,
      clock,
      store: overrides.store,
      batching: { choice: batching, gaveUp, held: () => runtime?.inFlight ?? Number.POSITIVE_INFINITY },
    });
    ({ tableWatch, queueDepth, store, records } = instruments);
    circuit = storeCircuit(store, opened.namespace, clock);
    runtime = createRuntime(config, opened, {
      handler,
      validate,
      logger,
      clock,
      instanceId,
      store,
      tracing,
      circuit,
    });
    observeRuntime(runtime, metrics, logger, clock);
    observeStoreCircuit(circuit, metrics, logger);
    watchStoreCircuit(circuit, health);
    activity.watch(runtime);
    watchRuntime(runtime, health);

    const address = await server.listen({ host: config.http.host, port: config.http.port }).catch((error) => {
      throw listenError(error, config) ?? error;
    });
    unlessStopping();
    const worker = runtime;
    // The table check may outlast a stop(): polling starts only if none came meanwhile.
    await instruments.tableWatch.whenReady(async () => (stopping ? undefined : worker.start()));
    unlessStopping();
    health.setPhase('running');
    const endpoints: AppEndpoints = {
      http: address,
      queueUrl,
      dlqUrl,
      sqsEndpoint: opened.aws.sqsEndpoint,
      dynamodbEndpoint: opened.aws.dynamodbEndpoint,
      embedded: opened.embedded,
    };
    logger.info({ ...endpoints, instanceId, namespace: opened.namespace }, 'worker started');
    if (opened.embedded) {
      logger.info(
        {},
        `embedded mode: in-process SQS at ${endpoints.sqsEndpoint} and DynamoDB at ${endpoints.dynamodbEndpoint}. ` +
          `Watch it: ${address}/ in a browser. Seed it there or: curl -s -XPOST ${address}/seed -H 'content-type: application/json'` +
          (config.seed.token === undefined ? '' : ` -H "authorization: Bearer $SEED_TOKEN"`) +
          ` -d '{"count":10,"duplicates":3}'`,
      );
    }
    return endpoints;
  }

  /**
   * Stops at any moment, start-up included, and resolves (or rejects, naming the steps that
   * overran) within SHUTDOWN_TIMEOUT + STOP_MARGIN_MS: every step has a deadline. A start in
   * progress is cancelled; once it has settled, whatever it opened is closed. Idempotent.
   */
  function stop(): Promise<void> {
    stopping = true;
    stopped ??= stopSteps();
    return stopped;
  }

  async function stopSteps(): Promise<void> {
    const deadline = Date.now() + config.shutdownTimeoutMs + STOP_MARGIN_MS;
    const overran: string[] = [];
    const step = async (name: string, work: () => Promise<unknown> | undefined, capMs: number) => {
      const ms = Math.max(0, Math.min(capMs, deadline - Date.now()));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
      const done = Promise.resolve()
        .then(work)
        .then(
          () => false as const,
          (error: unknown) => (
            logger.warn({ error: describeError(error) }, `stop: ${name} failed`),
            false as const
          ),
        );
      if (await Promise.race([done, timedOut])) {
        overran.push(name);
        logger.warn({ step: name, ms }, 'stop: a step did not finish in time; going on');
      }
      clearTimeout(timer);
    };
    health.setPhase('draining');
    tableWatch?.stop();
    // A start still opening things: let it reach its next step, where it sees the stop. Nothing
    // polls yet, so it may use the drain's time.
    await step('cancel start', () => starting?.catch(() => {}), deadline - Date.now() - STOP_TAIL_MS);
    stopGaveUp = overran.length > 0;
    // A start that failed or was cancelled before opening anything: nothing to drain or close.
    if (!openedAnything && !stopGaveUp) return;
    tableWatch?.stop();
    await step('queue depth poller', () => queueDepth?.stop(), STOP_STEP_MS);
    logger.info({ inFlight: runtime?.inFlight ?? 0 }, 'stopping: draining in-flight messages');
    const drainCap = deadline - Date.now() - STOP_TAIL_MS;
    await step('drain', () => runtime?.stop(config.shutdownTimeoutMs), drainCap);
    circuit?.stop();
    await step('tracing', () => tracing.shutdown(TRACE_FLUSH_MS), STOP_STEP_MS);
    await step('http server', () => server.close(), STOP_STEP_MS);
    if (overran.includes('http server')) server.server.closeAllConnections();
    const opened = connection;
    connection = undefined;
    await step('connection', () => opened?.close(), STOP_STEP_MS);
    logger.info({}, 'stopped');
    await step(
      'log flush',
      () => new Promise<void>((resolve) => logger.flush(() => resolve())),
      STOP_STEP_MS,
    );
    if (overran.length > 0) {
      throw new WorkerError('STOP_TIMEOUT', `stop: ${overran.join(', ')} did not finish in time`);
    }
  }

  return { start, stop, metrics, server, storeBatching: () => batching };
}

interface SidecarParts {
  readonly metrics: Metrics;
  readonly health: HealthMonitor;
  readonly logger: FastifyBaseLogger;
  readonly clock: Clock;
  /** The connection and the records once start() made them; throws before. */
  readonly started: () => { connection: Connection; records: RecordStore };
  /** What seeding sends carries the context of a span of it (traceparent), when tracing is on. */
  readonly tracing: () => Tracing;
  readonly activity: RecentActivity;
  /** The queue depth poller's reads, once start() made it. */
  readonly depthReads: () => DepthReads | undefined;
  /** STORE_BATCHING's choice, once start() probed the store. */
  readonly storeBatching: () => StoreBatchingChoice | undefined;
}

/** The HTTP sidecar: health from the monitor, the metrics registry, seeding and records. */
function buildSidecar(config: Config, parts: SidecarParts): FastifyInstance {
  const { metrics, health, logger, clock, started, activity } = parts;
  return buildServer({
    registry: metrics.registry,
    liveness: () => health.liveness(),
    readiness: () => health.readiness(),
    maxEventLoopDelayMs: config.health.maxEventLoopDelayMs,
    logger,
    limits: config.http,
    allowedHosts: config.http.allowedHosts,
    status: {
      activity,
      queueGauge: metrics.queueMessages,
      queueMetricsIntervalMs: config.queueMetricsIntervalMs,
      maxInFlight: config.maxInFlight,
      embedded: config.queueUrl === undefined,
      now: () => clock.now(),
      keys: { access: keyAccess(config) },
      depthReads: parts.depthReads,
      storeBatching: parts.storeBatching,
    },
    seed: {
      access: seedAccess(config),
      keyAttribute: config.idempotency.keyAttribute,
      send: async (request) => {
        const { sqs, queueUrl } = started().connection;
        return parts
          .tracing()
          .produce(queueNameOf(queueUrl), (traceAttributes) =>
            seedMessages(sqs, queueUrl, config.idempotency.keyAttribute, request, traceAttributes),
          );
      },
      records: async (query) => {
        const { connection, records } = started();
        return listRecords(records, connection.namespace, query, clock.now());
      },
    },
  });
}

/**
 * Metrics around the AWS side: SQS calls counted by a client middleware, the idempotency store
 * timed by a decorator (which also tells the table watch when the table is gone), and queue
 * depths read every QUEUE_METRICS_INTERVAL.
 */
function instrument(
  config: Config,
  connection: Connection,
  parts: {
    metrics: Metrics;
    health: HealthMonitor;
    logger: Logger;
    clock: Clock;
    store: (IdempotencyStore & RecordStore) | undefined;
    batching: {
      readonly choice: StoreBatchingChoice;
      readonly gaveUp: (reason: string) => void;
      /** The runtime's in-flight count: completes stop waiting when every held message has one waiting. */
      readonly held: () => number;
    };
  },
) {
  const { metrics, health, logger } = parts;
  instrumentSqsClient(connection.sqs, metrics.sqsRequests);
  const tableWatch = new TableWatch({
    client: connection.dynamodb,
    table: config.idempotency.table,
    health,
    logger,
    recheckMs: TABLE_RECHECK_MS,
    maxFailures: config.health.maxStoreFailures,
  });
  const inner = parts.store ?? createStore(config, connection);
  const { choice } = parts.batching;
  const hot =
    choice.mode === 'batched'
      ? batchingStore(config, connection, inner, {
          ...parts.batching,
          // A batch is a store call too: readiness hears of a stalled store from it, not only later from the single calls.
          onRequest: (failure) =>
            tableWatch.onStoreResult('claim', failure === undefined ? 'ok' : 'error', failure),
        })
      : inner;
  const store = new TimedIdempotencyStore(hot, metrics.storeDuration, tableWatch.onStoreResult);
  const records = new TimedRecordStore(inner, metrics.storeDuration, tableWatch.onStoreResult);
  const queueDepth = startQueueDepthPoller({
    sqs: connection.sqs,
    queues: { main: connection.queueUrl, dlq: connection.dlqUrl },
    intervalMs: config.queueMetricsIntervalMs,
    gauge: metrics.queueMessages,
    logger,
    now: () => parts.clock.now(),
  });
  return { tableWatch, store, records, queueDepth };
}

/**
 * What start() checks before it opens anything: the handler module loads and exports handle,
 * the MESSAGE_SCHEMA file holds a schema Ajv compiles, the sidecar's host resolves and the ports
 * to listen on are free. Each failure is a ConfigError naming its variable.
 */
async function checkBeforeStart(
  config: Config,
  overrides: AppOverrides,
): Promise<{ handler: Handler; validate: BodyCheck | undefined }> {
  const handler = overrides.handler ?? (await resolveHandler(config.handler, config));
  const validate = config.messageSchema === undefined ? undefined : loadBodyCheck(config.messageSchema);
  await checkListenAddresses(config);
  return { handler, validate };
}

/** `<host>-<pid>`: names this process in record owners. */
export function defaultInstanceId(suffix = ''): string {
  return `${hostname()}-${process.pid}${suffix}`;
}

/**
 * The AWS side for a config: `host` starts the embedded emulators when no queue is configured
 * (`start`, `emulators`), `client` reaches those of a running daemon (the other commands).
 * Injected clients are used as they are.
 */
export function openConnection(
  config: Config,
  role: 'host' | 'client',
  logger: Logger,
  clients: Pick<AppOverrides, 'sqs' | 'dynamodb'> = {},
): Promise<Connection> {
  return connect(config, role, logger, clients);
}

/**
 * Clients for commands that need no queue URL (`table create`, `queue create`): the configured
 * AWS settings, or the embedded emulators of a running daemon. The caller destroys them.
 */
export function createClients(config: Config): {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  destroy(): void;
} {
  const settings = awsSettings(config);
  const sqs = createSqsClient(settings);
  const dynamodb = createDynamoClient(settings);
  return {
    sqs,
    dynamodb,
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

/**
 * STORE_BATCHING: batched first claims and completes when the table takes BatchExecuteStatement,
 * found out once, here (dynalite does not: single calls). A store given to createApp is used as it is.
 */
async function chooseStoreBatching(
  config: Config,
  connection: Connection,
  given: boolean,
): Promise<StoreBatchingChoice> {
  if (given) return { mode: 'single', reason: 'a store was given to createApp' };
  if (config.idempotency.batching === 'off') return { mode: 'single', reason: 'STORE_BATCHING=off' };
  return probeStoreBatching(connection.dynamodb, config.idempotency.table, connection.namespace);
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
  },
): BatchingStore {
  return new BatchingStore(single, new DynamoDbStoreBatch(connection.dynamodb, config.idempotency.table), {
    windowMs: config.batchFlushMs,
    timeoutMs: config.awsCalls.dynamodbRequestTimeoutMs,
    onGiveUp: hooks.gaveUp,
    held: hooks.held,
    onRequest: hooks.onRequest,
  });
}

export interface RuntimeParts {
  readonly handler: Handler;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly instanceId: string;
  /** Default: the DynamoDB table of the config. */
  readonly store?: IdempotencyStore;
  /** Body check (MESSAGE_SCHEMA); default: loaded from the config. */
  readonly validate?: PipelineDeps['validate'];
  /** Stop receiving after this many messages (consume --count). */
  readonly receiveLimit?: number;
  /** Spans per delivery (core/tracing.ts); default none. */
  readonly tracing?: Tracing;
  /** The store's circuit breaker, on `store` (default: one made here, probing that store). */
  readonly circuit?: StoreCircuit;
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

/**
 * A WorkerRuntime on a connection's queue: the SQS adapter, sqs-consumer as the poller (which
 * pauses while the store's circuit breaker is open), the idempotency service on the store. Shared by `start` (createApp), `consume`, and the tests.
 */
export function createRuntime(config: Config, connection: Connection, parts: RuntimeParts): WorkerRuntime {
  const validate = parts.validate ?? (config.messageSchema ? loadBodyCheck(config.messageSchema) : undefined);
  const store = parts.store ?? createStore(config, connection);
  const circuit = parts.circuit ?? storeCircuit(store, connection.namespace, parts.clock);
  const idempotency = new IdempotencyService({
    store: circuit.watch(store),
    clock: parts.clock,
    namespace: connection.namespace,
    instanceId: parts.instanceId,
    leaseMs: config.visibilityTimeoutSeconds * 1000,
    retentionSeconds: config.idempotency.retentionSeconds,
    cacheSize: config.idempotency.cacheSize,
  });
  const { sqs, queueUrl, dlqUrl } = connection;
  return new WorkerRuntime({
    queue: new BatchingQueue(new SqsQueue(sqs, queueUrl), config.batchFlushMs),
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
    keyAttribute: config.idempotency.keyAttribute,
    envelope: config.messageEnvelope,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    skewMs: skewMs(config),
    maxInFlight: config.maxInFlight,
    handlerTimeoutMs: config.handlerTimeoutMs,
    backoff: config.backoff,
    ...(validate ? { validate } : {}),
    ...(parts.receiveLimit === undefined ? {} : { receiveLimit: parts.receiveLimit }),
    ...(parts.tracing ? { tracing: parts.tracing } : {}),
  });
}
