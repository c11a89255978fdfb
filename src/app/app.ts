import type { FastifyInstance } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import type { Config } from '../config/load.js';
import { listenError } from '../config/machine.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { Handler } from '../core/handler.js';
import type { BodyCheck } from '../core/body-check.js';
import type { StoreBatchingChoice } from '../core/store-batch.js';
import { noTracing } from '../core/tracing.js';
import { connect, type Connection } from '../aws/connect.js';
import type { TableWatch } from '../aws/table-watch.js';
import { HealthMonitor, watchRuntime, watchStoreCircuit } from '../observability/health.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { observeRuntime, observeStoreCircuit } from '../observability/observe.js';
import { RecentActivity } from '../observability/recent.js';
import { startTracing } from '../observability/tracing.js';
import type { WorkerRuntime } from '../worker/runtime.js';
import { Lifecycle, type Opening } from './lifecycle.js';
import { createRuntime, defaultInstanceId, storeCircuit, VERSION } from './parts.js';
import { buildSidecar, type Opened } from './sidecar.js';
import { checkBeforeStart, chooseStoreBatching, instrument, startDepthPoller } from './start-parts.js';
import type { App, AppEndpoints, AppOverrides } from './types.js';

export type { App, AppEndpoints, AppOverrides } from './types.js';

/** stop() ends within SHUTDOWN_TIMEOUT plus this: the drain's own grace and the steps after it. */
export const STOP_MARGIN_MS = 10_000;
/** The most each step after the drain (HTTP server, connection, log flush) may take. */
const STOP_STEP_MS = 1000;
/** Kept from the drain for those steps. */
const STOP_TAIL_MS = 4 * STOP_STEP_MS;
/** Of its step, what the span exporter's last flush may take: a dead collector fails no stop. */
const TRACE_FLUSH_MS = STOP_STEP_MS - 200;

/** What the composition root made before start(): the start plan wires the rest onto it. */
interface Composed {
  readonly config: Config;
  readonly overrides: AppOverrides;
  readonly logger: PinoLogger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly health: HealthMonitor;
  readonly activity: RecentActivity;
  readonly server: FastifyInstance;
  readonly instanceId: string;
  /** What start() has opened so far (read by the sidecar). */
  readonly opened: Opened;
}

/**
 * The composition root: creates every client and service once and wires them together. The
 * worker's life (phases, start, stop: each resource closed once, in reverse order of opening) is
 * ./lifecycle.ts's; what it opens, in order, is the plan below: wireWorker, then runWorker.
 */
export function createApp(config: Config, overrides: AppOverrides = {}): App {
  const redact = config.logRedact?.split(',') ?? [];
  const logger = overrides.logger ?? createLogger(config.logLevel, overrides.logDestination, { redact });
  const clock = overrides.clock ?? systemClock;
  const metrics = createMetrics(VERSION, overrides.registry);
  const health = new HealthMonitor({
    clock,
    waitTimeSeconds: config.waitTimeSeconds,
    handlerTimeoutMs: config.handlerTimeoutMs,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    maxInFlight: config.maxInFlight,
    maxPollFailures: config.health.maxPollFailures,
  });
  // The status page's memory of recent deliveries, fed by the runtime's events like the metrics.
  const activity = new RecentActivity({ clock, redact });
  const opened: Opened = { tracing: noTracing };
  const server = buildSidecar(config, { metrics, health, logger, clock, activity, opened });
  const instanceId = overrides.instanceId ?? defaultInstanceId();
  const composed: Composed = {
    config,
    overrides,
    logger,
    clock,
    metrics,
    health,
    activity,
    server,
    instanceId,
    opened,
  };
  /** For the stop's first line: how many messages it drains. */
  let runtime: WorkerRuntime | undefined;
  const lifecycle = new Lifecycle({
    plan: async (opening) => {
      const wired = await wireWorker(opening, composed);
      runtime = wired.runtime;
      return runWorker(opening, composed, wired);
    },
    logger,
    times: {
      budgetMs: config.shutdownTimeoutMs + STOP_MARGIN_MS,
      stepMs: STOP_STEP_MS,
      tailMs: STOP_TAIL_MS,
    },
    onStop: () => health.setPhase('draining'),
    onClose: () => logger.info({ inFlight: runtime?.inFlight ?? 0 }, 'stopping: draining in-flight messages'),
  });
  return {
    start: () => lifecycle.start(),
    stop: () => lifecycle.stop(),
    metrics,
    server,
    storeBatching: () => opened.batching,
  };
}

/**
 * The first half of the start plan: the checks (a configuration error exits 2 with no start or
 * stop lines around it: docs/operations.md, "Exit codes and signals"), then tracing and the AWS
 * connection opened, and the store, its circuit breaker and the runtime made on them.
 */
async function wireWorker(opening: Opening, composed: Composed): Promise<Wired> {
  const { config, overrides, logger, opened } = composed;
  const { handler, validate } = await checkBeforeStart(config, overrides);
  opened.tracing = await opening.open(
    'tracing',
    () => startTracing(config.tracing, { logger, serviceVersion: VERSION, instanceId: composed.instanceId }),
    (tracing) => tracing.shutdown(TRACE_FLUSH_MS),
  );
  const connection = await opening.open(
    'connection',
    () => connect(config, 'host', logger, overrides),
    (c) => c.close(),
  );
  opened.connection = connection;
  const batching = await chooseStoreBatching(config, connection, overrides.store !== undefined);
  opened.batching = batching;
  logger.info(
    { storeBatching: batching.mode, reason: batching.reason },
    `idempotency store: ${batching.mode} writes`,
  );
  opening.checkpoint();
  return buildRuntime(opening, composed, { connection, batching, handler, validate });
}

/** What the first half of the start hands the second. */
interface Wired {
  readonly connection: Connection;
  readonly runtime: WorkerRuntime;
  /** Made with the store (it hears of the table from store calls); it checks nothing before whenReady(). */
  readonly tableWatch: TableWatch;
}

/** The store (timed, batched when chosen), its circuit breaker, and the runtime on them, observed. */
function buildRuntime(
  opening: Opening,
  composed: Composed,
  made: {
    readonly connection: Connection;
    readonly batching: StoreBatchingChoice;
    readonly handler: Handler;
    readonly validate: BodyCheck | undefined;
  },
): Wired {
  const { connection, handler, validate } = made;
  const { config, overrides, logger, clock, metrics, health, activity, opened } = composed;
  // The batching store asks the runtime's in-flight count, once there is a runtime.
  const later: { runtime?: WorkerRuntime } = {};
  const gaveUp = (reason: string): void => {
    opened.batching = { mode: 'single', reason };
    logger.warn({ storeBatching: 'single', reason }, 'idempotency store: batching stopped');
  };
  const { tableWatch, store, records } = instrument(config, connection, {
    metrics,
    health,
    logger,
    clock,
    store: overrides.store,
    batching: {
      choice: made.batching,
      gaveUp,
      held: () => later.runtime?.unrecorded ?? Number.POSITIVE_INFINITY,
    },
  });
  opened.records = records;
  const circuit = opening.hold('circuit breaker', storeCircuit(store, connection.namespace, clock), (c) =>
    c.stop(),
  );
  const runtime = createRuntime(config, connection, {
    handler,
    validate,
    logger,
    clock,
    instanceId: composed.instanceId,
    store,
    tracing: opened.tracing,
    circuit,
  });
  later.runtime = runtime;
  observeRuntime(runtime, metrics, logger, clock);
  observeStoreCircuit(circuit, metrics, logger);
  watchStoreCircuit(circuit, health);
  activity.watch(runtime);
  watchRuntime(runtime, health);
  return { connection, runtime, tableWatch };
}

/**
 * The second half: the sidecar listens, the queue depth poller and the table watch start, and
 * the runtime polls once the table is usable. Registered in this order, they close in reverse:
 * table watch, depth poller, the drain, then the sidecar (which answers readyz while it drains).
 */
async function runWorker(opening: Opening, composed: Composed, wired: Wired): Promise<AppEndpoints> {
  const { config, logger, health, server, opened } = composed;
  const { connection, runtime } = wired;
  const address = await opening.open(
    'http server',
    () =>
      server.listen({ host: config.http.host, port: config.http.port }).catch((error) => {
        throw listenError(error, config) ?? error;
      }),
    () => server.close(),
    { onOverrun: () => server.server.closeAllConnections() },
  );
  opening.hold('drain', runtime, (r) => r.stop(config.shutdownTimeoutMs), { budget: 'rest' });
  opened.queueDepth = opening.hold(
    'queue depth poller',
    startDepthPoller(config, connection, composed),
    (q) => q.stop(),
  );
  const tableWatch = opening.hold('table watch', wired.tableWatch, (t) => t.stop());
  // The table check may outlast a stop(): polling starts only if none came meanwhile.
  await tableWatch.whenReady(async () => (opening.stopping() ? undefined : runtime.start()));
  opening.checkpoint();
  health.setPhase('running');
  const endpoints: AppEndpoints = {
    http: address,
    queueUrl: connection.queueUrl,
    dlqUrl: connection.dlqUrl,
    sqsEndpoint: connection.aws.sqsEndpoint,
    dynamodbEndpoint: connection.aws.dynamodbEndpoint,
    embedded: connection.embedded,
  };
  logger.info(
    { ...endpoints, instanceId: composed.instanceId, namespace: connection.namespace },
    'worker started',
  );
  if (connection.embedded) logEmbeddedHint(logger, endpoints, config.seed.token !== undefined);
  return endpoints;
}

function logEmbeddedHint(logger: PinoLogger, endpoints: AppEndpoints, tokenNeeded: boolean): void {
  const { http } = endpoints;
  logger.info(
    {},
    `embedded mode: in-process SQS at ${endpoints.sqsEndpoint} and DynamoDB at ${endpoints.dynamodbEndpoint}. ` +
      `Watch it: ${http}/ in a browser. Seed it there or: curl -s -XPOST ${http}/seed -H 'content-type: application/json'` +
      (tokenNeeded ? ` -H "authorization: Bearer $SEED_TOKEN"` : '') +
      ` -d '{"count":10,"duplicates":3}'`,
  );
}
