import rateLimit from '@fastify/rate-limit';
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
import { safeUrl } from './audit.js';
import { capConnections } from './connections.js';
import { sharedRateStore } from './rate-store.js';
import { frameworkErrors, requestHygiene, strictJson } from './request-guard.js';
import { seedRoutes, type SeedRoutesDeps } from './seed-routes.js';
import { statusRoutes, type StatusPageDeps } from './status-page.js';

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
  readonly eventLoopDelayMs?: (() => number) | undefined;
  readonly seed: SeedRoutesDeps;
  /** GET / (the status page) and GET /status.json; left out: no page. */
  readonly status?: StatusPageDeps;
  /** Errors of the server go here (pino); default none. */
  readonly logger?: FastifyBaseLogger;
  /** Timeouts and the connection cap; each one left out takes its DEFAULT_LIMITS value. */
  readonly limits?: Partial<HttpLimits>;
  /**
   * HTTP_ALLOWED_HOSTS: names besides localhost, 127.0.0.1 and [::1] at which /seed, /records and
   * the status page answer (host-rule.ts). Probes and /metrics answer at any name.
   */
  readonly allowedHosts?: readonly string[] | undefined;
}

/**
 * What one client may hold. Node's own request timeout is off under Fastify (requestTimeout 0):
 * without these, a client that sends headers announcing a body and then nothing keeps its socket,
 * before any route, rate limit or token check runs.
 */
export interface HttpLimits {
  /** The whole request, headers and body, must arrive within this, ms; else 408 and close. */
  readonly requestTimeoutMs: number;
  /** The headers must arrive within this, ms (at most requestTimeoutMs); else 408 and close. */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this, ms. */
  readonly keepAliveTimeoutMs: number;
  /**
   * Open connections at most. A new one over the cap replaces the oldest connection the server is
   * not answering on (connections.ts), so stalled clients never keep probes out.
   */
  readonly maxConnections: number;
  /** How often Node looks for requests past their timeouts, ms (Node's default: 30 s). */
  readonly timeoutCheckIntervalMs: number;
  /** A socket with no traffic either way for this long is destroyed (a client that stops reading), ms. */
  readonly socketIdleTimeoutMs: number;
}

/** HTTP_REQUEST_TIMEOUT, HTTP_KEEP_ALIVE_TIMEOUT and HTTP_MAX_CONNECTIONS have the same defaults. */
export const DEFAULT_LIMITS: HttpLimits = {
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
  timeoutCheckIntervalMs: 1_000,
  socketIdleTimeoutMs: 120_000,
};

/** The limits with defaults filled in, the headers timeout within the request timeout. */
export function httpLimits(given: Partial<HttpLimits> = {}): HttpLimits {
  const limits = { ...DEFAULT_LIMITS, ...given };
  const headersTimeoutMs = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    ...limits,
    headersTimeoutMs,
    // A check interval longer than the timeout would let a request outlive it by that much.
    timeoutCheckIntervalMs: Math.min(limits.timeoutCheckIntervalMs, headersTimeoutMs),
    socketIdleTimeoutMs: Math.max(limits.socketIdleTimeoutMs, limits.requestTimeoutMs),
  };
}

/** Largest accepted body on routes that set none of their own (only /seed takes a body). */
const BODY_LIMIT = 16 * 1024;

/** Builds the sidecar without listening, so tests use inject() and the app decides when to listen. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const limits = httpLimits(deps.limits);
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // Probes and scrapes arrive every few seconds: no per-request log lines.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.socketIdleTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
    },
    // Fastify's Ajv silently drops unknown properties by default; we reject them instead.
    // allowUnionTypes: the explicit seed body may be a string, an object or an array.
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, allowUnionTypes: true },
    },
    // A malformed URL is answered without echoing it (query values may be credentials).
    frameworkErrors,
  });
  capConnections(app.server, limits.maxConnections);
  app.addHook('onRequest', requestHygiene);
  strictJson(app);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, `no route ${request.method} ${safeUrl(request.url)}`),
  );
  void app.register(healthRoutes, deps);
  app.get('/metrics', async (_request, reply) => {
    const body = await deps.registry.metrics();
    return reply.header('content-type', deps.registry.contentType).send(body);
  });
  // One rate-limit budget per client address across every protected route (rate-store.ts).
  void app.register(rateLimit, {
    global: false,
    hook: 'onRequest',
    store: sharedRateStore(),
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`over ${context.max} requests per minute: retry in ${context.after}`), {
        statusCode: 429,
      }),
  });
  const allowedHosts = deps.allowedHosts ?? [];
  const seed = { ...deps.seed, allowedHosts };
  void app.register(seedRoutes, seed);
  if (deps.status) {
    void app.register(statusRoutes, { ...deps.status, readiness: deps.readiness, seed, allowedHosts });
  }
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
