import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../config/load.js';
import type { Clock } from '../core/clock.js';
import type { RecordStore } from '../core/idempotency-store.js';
import type { StoreBatchingChoice } from '../core/store-batch.js';
import { queueNameOf, type Tracing } from '../core/tracing.js';
import type { Connection } from '../aws/connect.js';
import { seedAccess } from '../http/access.js';
import { buildServer } from '../http/server.js';
import { keyAccess } from '../http/status-access.js';
import type { HealthMonitor } from '../observability/health.js';
import type { Metrics } from '../observability/metrics.js';
import type { RecentActivity } from '../observability/recent.js';
import type { QueueDepthPoller } from '../observability/sqs-metrics.js';
import { listRecords, seedMessages } from '../seeding/seed.js';

/** What start() has opened so far; the sidecar reads it on each request. */
export interface Opened {
  /** OpenTelemetry when configured (OTEL_*), once start() loaded it; until then and otherwise none. */
  tracing: Tracing;
  connection?: Connection | undefined;
  records?: RecordStore | undefined;
  /** The queue depth poller, for its reads on /status. */
  queueDepth?: QueueDepthPoller | undefined;
  /** STORE_BATCHING's choice, once start() probed the store (it falls back to single on its own). */
  batching?: StoreBatchingChoice | undefined;
}

export interface SidecarParts {
  readonly metrics: Metrics;
  readonly health: HealthMonitor;
  readonly logger: FastifyBaseLogger;
  readonly clock: Clock;
  readonly activity: RecentActivity;
  readonly opened: Readonly<Opened>;
}

/** The HTTP sidecar: health from the monitor, the metrics registry, seeding and records. */
export function buildSidecar(config: Config, parts: SidecarParts): FastifyInstance {
  const { metrics, health, logger, clock, activity, opened } = parts;
  const { http, idempotency } = config;
  const started = (): { connection: Connection; records: RecordStore } => {
    const { connection, records } = opened;
    if (!connection || !records) throw new Error('the worker has not started yet');
    return { connection, records };
  };
  return buildServer({
    registry: metrics.registry,
    liveness: () => health.liveness(),
    readiness: () => health.readiness(),
    maxEventLoopDelayMs: config.health.maxEventLoopDelayMs,
    logger,
    limits: http,
    allowedHosts: http.allowedHosts,
    status: {
      activity,
      queueGauge: metrics.queueMessages,
      queueMetricsIntervalMs: config.queueMetricsIntervalMs,
      maxInFlight: config.maxInFlight,
      embedded: config.queueUrl === undefined,
      now: () => clock.now(),
      keys: { access: keyAccess(config) },
      depthReads: () => opened.queueDepth?.reads(),
      storeBatching: () => opened.batching,
    },
    seed: {
      access: seedAccess(config),
      keyAttribute: idempotency.keyAttribute,
      send: async (request) => {
        const { sqs, queueUrl } = started().connection;
        // What seeding sends carries the context of a span of it (traceparent), when tracing is on.
        return opened.tracing.produce(queueNameOf(queueUrl), (traceAttributes) =>
          seedMessages(sqs, queueUrl, idempotency.keyAttribute, request, traceAttributes),
        );
      },
      records: async (query) => {
        const { connection, records } = started();
        return listRecords(records, connection.namespace, query, clock.now());
      },
    },
  });
}
