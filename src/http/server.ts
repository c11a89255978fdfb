import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { describeError } from '../core/errors.js';
import type { SeedRequest, SeedResult } from '../infra/seed.js';

export interface HealthReport {
  readonly ok: boolean;
  /** Each check by name; `detail` says what is wrong when it failed. */
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly detail?: string }>>;
}

export interface ServerDeps {
  readonly registry: Registry;
  /** Liveness: is the process itself working? Never calls AWS. */
  readonly liveness: () => HealthReport;
  /** Readiness: is the worker consuming? Uses state the worker keeps; never calls AWS. */
  readonly readiness: () => HealthReport;
  readonly seed: (request: SeedRequest) => Promise<SeedResult>;
  /** Largest accepted request body, bytes. */
  readonly bodyLimit?: number;
}

const MAX_SEED = 10_000;

const seedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['count'],
  properties: {
    count: { type: 'integer', minimum: 1, maximum: MAX_SEED },
    duplicates: { type: 'integer', minimum: 0, maximum: MAX_SEED },
    groupId: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' },
  },
} as const;

/** Builds the sidecar without listening, so tests use inject() and the app decides when to listen. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    // Fastify's Ajv silently drops unknown properties by default; we reject them instead.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.validation) {
      const first = error.validation[0];
      const params = (first?.params ?? {}) as { additionalProperty?: string; missingProperty?: string };
      const path = first?.instancePath.replace(/^\//, '').replace(/\//g, '.') ?? '';
      const prefix = path === '' ? '' : `${path}.`;
      let field: string;
      let message: string;
      if (params.additionalProperty !== undefined) {
        field = prefix + params.additionalProperty;
        message = `unknown field ${field}`;
      } else if (params.missingProperty !== undefined) {
        field = prefix + params.missingProperty;
        message = `${field} is required`;
      } else {
        field = path || 'body';
        message = `${field} ${first?.message ?? 'is invalid'}`;
      }
      return reply.code(400).send({ error: 'Bad Request', field, message });
    }
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    return reply.code(status).send({
      error: status === 500 ? 'Internal Server Error' : error.code,
      message: status === 500 ? 'internal error' : error.message,
    });
  });

  app.get('/healthz', async (_request, reply) => report(reply, deps.liveness()));
  app.get('/readyz', async (_request, reply) => report(reply, deps.readiness()));

  app.get('/metrics', async (_request, reply) => {
    const body = await deps.registry.metrics();
    return reply.header('content-type', deps.registry.contentType).send(body);
  });

  app.post<{ Body: SeedRequest }>('/seed', { schema: { body: seedSchema } }, async (request, reply) => {
    const { count, duplicates = 0 } = request.body;
    if (duplicates > count) {
      return reply
        .code(400)
        .send({ error: 'Bad Request', field: 'duplicates', message: 'duplicates must not exceed count' });
    }
    let result: SeedResult;
    try {
      result = await deps.seed(request.body);
    } catch (error) {
      // The queue could not take the messages: say why, without a stack trace.
      return reply.code(503).send({ error: 'Service Unavailable', message: describeError(error) });
    }
    return reply.code(202).send(result);
  });

  return app;
}

function report(reply: { code(status: number): { send(body: unknown): unknown } }, health: HealthReport) {
  return reply
    .code(health.ok ? 200 : 503)
    .send({ status: health.ok ? 'ok' : 'unavailable', checks: health.checks });
}
