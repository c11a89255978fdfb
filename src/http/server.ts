import underPressure from '@fastify/under-pressure';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import type { Registry } from 'prom-client';
import type { Check, HealthReport } from '../observability/health.js';
import { handleError, sendError } from './errors.js';
import { seedRoutes, type SeedRoutesDeps } from './seed-routes.js';

export type { Check, HealthReport } from '../observability/health.js';
export type { SeedRoutesDeps } from './seed-routes.js';

export interface ServerDeps {
  readonly registry: Registry;
  /** Liveness: is the process itself working? State only; never calls AWS. */
  readonly liveness: () => HealthReport;
  /** Readiness: is the worker consuming? State only; never calls AWS. */
  readonly readiness: () => HealthReport;
  /** /healthz fails when the event loop lags more than this, ms (default 2000). */
  readonly maxEventLoopDelayMs?: number;
  /** How often the event-loop delay is sampled, ms (default 1000). */
  readonly eventLoopSampleIntervalMs?: number;
  /**
   * The current event-loop delay, ms (Infinity: the loop did not turn in a whole sample).
   * Default: @fastify/under-pressure's sample. Tests inject one instead of hogging the CPU.
   */
  readonly eventLoopDelayMs?: () => number;
  readonly seed: SeedRoutesDeps;
  /** Errors of the server go here (pino); default none. */
  readonly logger?: FastifyBaseLogger;
}

/** Largest accepted body on routes that set none of their own (only /seed takes a body). */
const BODY_LIMIT = 16 * 1024;

/** Builds the sidecar without listening, so tests use inject() and the app decides when to listen. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // Probes and scrapes arrive every few seconds: no per-request log lines.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Fastify's Ajv silently drops unknown properties by default; we reject them instead.
    // allowUnionTypes: the explicit seed body may be a string, an object or an array.
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, allowUnionTypes: true },
    },
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, `no route ${request.method} ${request.url}`),
  );
  void app.register(healthRoutes, deps);
  app.get('/metrics', async (_request, reply) => {
    const body = await deps.registry.metrics();
    return reply.header('content-type', deps.registry.contentType).send(body);
  });
  void app.register(seedRoutes, deps.seed);
  return app;
}

/**
 * /healthz and /readyz, in their own scope so that under-pressure's sampling serves them alone.
 * Its limits are not set: it only measures, and /healthz reports the delay as one named check.
 */
async function healthRoutes(scope: FastifyInstance, deps: ServerDeps): Promise<void> {
  const maxDelayMs = deps.maxEventLoopDelayMs ?? 2000;
  const eventLoopDelayMs =
    deps.eventLoopDelayMs ?? (await sampleEventLoop(scope, deps.eventLoopSampleIntervalMs ?? 1000));
  scope.get('/healthz', async (_request, reply) => {
    const delayMs = eventLoopDelayMs();
    const eventLoop: Check =
      delayMs <= maxDelayMs
        ? { ok: true }
        : { ok: false, detail: `event loop delay ${describeDelay(delayMs)}, over ${maxDelayMs} ms` };
    const report = deps.liveness();
    return send(reply, { ok: report.ok && eventLoop.ok, checks: { eventLoop, ...report.checks } });
  });
  scope.get('/readyz', async (_request, reply) => send(reply, deps.readiness()));
}

/** The default delay source: under-pressure samples the loop in this scope; reads are free. */
async function sampleEventLoop(scope: FastifyInstance, sampleIntervalMs: number): Promise<() => number> {
  await scope.register(underPressure, { sampleInterval: sampleIntervalMs });
  return () => scope.memoryUsage().eventLoopDelay;
}

/** under-pressure reports Infinity when the loop did not turn once in a whole sample interval. */
function describeDelay(ms: number): string {
  return Number.isFinite(ms)
    ? `${Math.round(ms)} ms`
    : 'unbounded (the loop did not turn in a sample interval)';
}

function send(reply: FastifyReply, health: HealthReport): FastifyReply {
  return reply
    .code(health.ok ? 200 : 503)
    .header('cache-control', 'no-store')
    .send({ status: health.ok ? 'ok' : 'unavailable', checks: health.checks });
}
