import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeError } from '../core/errors.js';
import { CorruptRecordError } from '../core/idempotency-store.js';
import {
  SeedInputError,
  type RecordsPage,
  type RecordsQuery,
  type SeedRequest,
  type SeedResult,
} from '../seeding/seed.js';
import { cursorProblem, messagesProblem } from '../seeding/validate.js';
import { authorize, type SeedAccess } from './access.js';
import { sendError } from './errors.js';
import { auditFields } from './audit.js';
import { hostRule } from './host-rule.js';
import { seedMessagesProblem } from './seed-checks.js';
import {
  SEED_BODY_LIMIT,
  recordsQuery,
  recordsQuerySchema,
  seedBodySchema,
  seedShapeError,
  type RecordsQueryString,
  type SeedBody,
} from './schemas.js';

export interface SeedRoutesDeps {
  /** undefined: the routes answer 404. */
  readonly access: SeedAccess | undefined;
  readonly send: (request: SeedRequest) => Promise<SeedResult>;
  readonly records: (query: RecordsQuery) => Promise<RecordsPage>;
  /** The idempotency key's attribute, which explicit messages may not set as an attribute. */
  readonly keyAttribute?: string;
  /** HTTP_ALLOWED_HOSTS: names besides the loopback ones these routes answer at (host-rule.ts). */
  readonly allowedHosts?: readonly string[];
}

const DISABLED =
  'disabled: on by default in embedded mode only; elsewhere set SEED_ENABLED=true and SEED_TOKEN';

/**
 * POST /seed and GET /records. Per request: the Host rule, then the rate limit (onRequest; one
 * budget per client across every protected route, registered by buildServer), then authorization
 * (preParsing, so an unauthorized body is never read), then body size (413) and schema (400).
 */
export async function seedRoutes(app: FastifyInstance, deps: SeedRoutesDeps): Promise<void> {
  const { access } = deps;
  if (access === undefined) {
    app.post('/seed', async (_request, reply) => sendError(reply, 404, `POST /seed is ${DISABLED}`));
    app.get('/records', async (_request, reply) => sendError(reply, 404, `GET /records is ${DISABLED}`));
    return;
  }
  const shared = protection(access, deps.allowedHosts ?? []);

  app.post<{ Body: SeedBody }>(
    '/seed',
    { ...shared, bodyLimit: SEED_BODY_LIMIT, schema: { body: seedBodySchema } },
    async (request, reply) => {
      const shape = seedShapeError(request.body);
      if (shape) return sendError(reply, 400, shape.message, shape.field);
      const messages = request.body.messages ?? [];
      const problem =
        messagesProblem(messages, deps) ?? seedMessagesProblem(messages, access.embedded === true);
      if (problem) return sendError(reply, 400, problem.message, problem.field);
      return answer(reply, 202, () => deps.send(request.body as SeedRequest));
    },
  );

  app.get<{ Querystring: RecordsQueryString }>(
    '/records',
    { ...shared, schema: { querystring: recordsQuerySchema } },
    async (request, reply) => {
      const query = recordsQuery(request.query);
      if ('field' in query) return sendError(reply, 400, query.message, query.field);
      const problem = query.cursor === undefined ? undefined : cursorProblem('cursor', query.cursor);
      if (problem) return sendError(reply, 400, problem.message, problem.field);
      return answer(reply, 200, () => deps.records(query));
    },
  );
}

/** Route options both routes share: the Host rule, rate limit, authorization, an audit log line. */
function protection(access: SeedAccess, allowedHosts: readonly string[]) {
  return {
    onRequest: [hostRule(allowedHosts, (reply, message) => sendError(reply, 403, message, 'host'))],
    config: { rateLimit: { max: access.ratePerMinute, timeWindow: 60_000 } },
    preParsing: authorize(access),
    onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
      request.log.info(auditFields(request, reply), 'seed route');
    },
  };
}

/**
 * Runs the call; input the queue cannot take is a 400 naming the field, a malformed record in the
 * table a 500 naming it (retrying will not help), anything else means the queue or table could
 * not be reached: 503 with the reason and no stack trace.
 */
async function answer(reply: FastifyReply, status: number, call: () => Promise<unknown>) {
  let body: unknown;
  try {
    body = await call();
  } catch (error) {
    if (error instanceof SeedInputError) return sendError(reply, 400, error.message, error.field);
    if (error instanceof CorruptRecordError) return sendError(reply, 500, error.message);
    return sendError(reply, 503, describeError(error));
  }
  return reply.code(status).send(body);
}
