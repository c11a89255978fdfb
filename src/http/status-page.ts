import type { RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Gauge } from 'prom-client';
import { describeError } from '../core/errors.js';
import type { HealthReport } from '../observability/health.js';
import type { ActivitySource } from '../observability/recent.js';
import type { DepthReads } from '../observability/sqs-metrics.js';
import type { SeedAccess } from './access.js';
import { SeedInputError } from '../seeding/seed.js';
import { auditFields } from './audit.js';
import { handleError, sendError } from './errors.js';
import { hostRule } from './host-rule.js';
import { decodeUtf8 } from './request-guard.js';
import { MAX_SEED_COUNT, seedShapeError } from './schemas.js';
import type { SeedRoutesDeps } from './seed-routes.js';
import { HTML_HEADERS } from './status-assets.js';
import { KEYS_OFF, SIGN_IN_REALM, sameOrigin, viewer, type Viewer } from './status-access.js';
import { snapshot, type StatusSources, type StoreWrites } from './status-data.js';
import { renderMessage, renderPage, type SeedFormView } from './status-html.js';

/** What the status page reads; the app passes its recorder and metrics (no AWS call per view). */
export interface StatusPageDeps {
  readonly activity: ActivitySource;
  /** sqs_worker_queue_messages, set by the queue depth poller. */
  readonly queueGauge: Gauge<'queue' | 'state'>;
  readonly queueMetricsIntervalMs: number;
  readonly maxInFlight: number;
  /** Embedded mode: the page offers the seed form. */
  readonly embedded: boolean;
  /** How often the page's script polls GET /status.json, ms (default 2000). */
  readonly pollMs?: number;
  readonly now?: () => number;
  /**
   * Who may see keys (STATUS_SHOW_KEYS, status-access.ts keyAccess): `{ access: undefined }` for
   * nobody. Left out: the seed routes' access, as before the setting existed.
   */
  readonly keys?: { readonly access: SeedAccess | undefined };
  /** How the queue depth reads went (the poller's), for the depths' age and staleness. */
  readonly depthReads?: () => DepthReads | undefined;
  /** How the worker writes to the idempotency store (STORE_BATCHING, probed at start). */
  readonly storeBatching?: () => StoreWrites | undefined;
}

export interface StatusRoutesDeps extends StatusPageDeps {
  readonly readiness: () => HealthReport;
  readonly seed: SeedRoutesDeps;
  /** HTTP_ALLOWED_HOSTS: every route here answers only at a loopback name or one of these. */
  readonly allowedHosts?: readonly string[];
}

/** The form's body is two small numbers. */
const FORM_BODY_LIMIT = 1024;

/**
 * GET / (the page), GET /status.json (what its script polls), GET /status/login (asks the
 * browser for SEED_TOKEN) and, in embedded mode, POST /status/seed (the form). Throughput, in
 * flight, queue depth, readiness and failures (reasons, redacted errors) are public, like /metrics
 * and /readyz. Keys are shown when STATUS_SHOW_KEYS allows (`deps.keys`), seeding when SEED_ENABLED
 * does; both to loopback clients or with SEED_TOKEN, under the rate limit of /seed and /records
 * (counted for requests that carry credentials, so that guessing the token through the page is
 * slow too).
 */
export async function statusRoutes(scope: FastifyInstance, deps: StatusRoutesDeps): Promise<void> {
  const routes = statusContext(deps);
  scope.setErrorHandler((error: FastifyError, request, reply) =>
    request.url.startsWith('/status.json') ? handleError(error, request, reply) : htmlError(error, reply),
  );
  scope.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'buffer', bodyLimit: FORM_BODY_LIMIT },
    (_request, body, done) => {
      const text = decodeUtf8(body as Buffer);
      if (typeof text === 'string') done(null, new URLSearchParams(text));
      else done(text, undefined);
    },
  );
  pageRoute(scope, routes);
  statusJsonRoute(scope, routes);
  loginRoute(scope, routes);
  const { access } = deps.seed;
  if (deps.embedded && access !== undefined) seedFormRoute(scope, routes, access);
}

/** What every route of the page shares: who may see keys, the Host rule and the rate limits. */
interface StatusContext {
  readonly deps: StatusRoutesDeps;
  /** Who may seed (SEED_ENABLED, SEED_TOKEN). */
  readonly access: SeedAccess | undefined;
  /** Who may see keys (STATUS_SHOW_KEYS). */
  readonly keysAccess: SeedAccess | undefined;
  readonly keyViewer: (request: FastifyRequest) => Viewer;
  readonly sources: StatusSources;
  readonly pollMs: number;
  /** The Host rule, answered as a page or as JSON. */
  readonly pageHost: ReturnType<typeof hostRule>;
  readonly jsonHost: ReturnType<typeof hostRule>;
  /** The rate limit of /seed and /records: for every request, or only those with credentials. */
  readonly limit: { rateLimit?: RateLimitOptions };
  readonly limitWithCredentials: { rateLimit?: RateLimitOptions };
}

function statusContext(deps: StatusRoutesDeps): StatusContext {
  const { access } = deps.seed;
  const keys = deps.keys ?? { access };
  const keysOff = deps.keys === undefined ? undefined : KEYS_OFF;
  // The Host rule first, as on /seed and /records: a rebound name reaches nothing here either.
  const allowed = deps.allowedHosts ?? [];
  const limited = access ?? keys.access;
  const perMinute: RateLimitOptions | undefined =
    limited === undefined ? undefined : { max: limited.ratePerMinute, timeWindow: 60_000 };
  return {
    deps,
    access,
    keysAccess: keys.access,
    keyViewer: (request) => viewer(keys.access, request, keysOff),
    sources: { ...deps, now: deps.now ?? Date.now },
    pollMs: deps.pollMs ?? 2000,
    pageHost: hostRule(allowed, (reply, message) =>
      html(reply, 403, renderMessage('Not allowed', message, true)),
    ),
    jsonHost: hostRule(allowed, (reply, message) => sendError(reply, 403, message, 'host')),
    // Absent, not undefined: the route's config is merged by the rate-limit plugin.
    limit: perMinute ? { rateLimit: perMinute } : {},
    limitWithCredentials: perMinute
      ? { rateLimit: { ...perMinute, allowList: (r) => r.headers.authorization === undefined } }
      : {},
  };
}

/** GET /: the page, rendered with the numbers of now; the seed form in embedded mode. */
function pageRoute(scope: FastifyInstance, routes: StatusContext): void {
  const { deps, access, keyViewer, sources, pollMs } = routes;
  scope.get<{ Querystring: Record<string, string | undefined> }>(
    '/',
    { onRequest: routes.pageHost, config: routes.limitWithCredentials },
    async (request, reply) => {
      const who = viewer(access, request);
      const sees = keyViewer(request);
      const snap = await snapshot(sources, recentFor(sees));
      const seed: SeedFormView | undefined = deps.embedded
        ? {
            state: who.allowed ? { shown: true } : { shown: false, why: who.why, signIn: who.status === 401 },
            ...seededResult(request.query),
          }
        : undefined;
      return html(
        reply,
        200,
        renderPage({ snapshot: snap, signIn: !sees.allowed && sees.status === 401, seed, pollMs }),
      );
    },
  );
}

/** GET /status.json: what the page's script polls. */
function statusJsonRoute(scope: FastifyInstance, routes: StatusContext): void {
  scope.get(
    '/status.json',
    { onRequest: routes.jsonHost, config: routes.limitWithCredentials },
    async (request, reply) => {
      const snap = await snapshot(routes.sources, recentFor(routes.keyViewer(request)));
      return reply.header('cache-control', 'no-store').send(snap);
    },
  );
}

/** GET /status/login: asks the browser for SEED_TOKEN, then back to the page. */
function loginRoute(scope: FastifyInstance, routes: StatusContext): void {
  scope.get(
    '/status/login',
    { onRequest: routes.pageHost, config: routes.limit, onResponse: audit },
    async (request, reply) => {
      // Keys and the seed form take the same credentials (SEED_TOKEN): sign in for whichever is on.
      const who =
        routes.keysAccess === undefined ? viewer(routes.access, request) : routes.keyViewer(request);
      if (who.allowed) return reply.redirect('/', 303);
      return refuse(reply, who);
    },
  );
}

/** POST /status/seed (embedded mode, seeding on): the form's post, answered with a redirect to the page. */
function seedFormRoute(scope: FastifyInstance, routes: StatusContext, access: SeedAccess): void {
  scope.post<{ Body: unknown }>(
    '/status/seed',
    {
      onRequest: routes.pageHost,
      config: routes.limit,
      bodyLimit: FORM_BODY_LIMIT,
      onResponse: audit,
      // Before the body is read, like /seed: another site's form, then who is asking.
      preParsing: async (request, reply) => {
        if (!sameOrigin(request)) {
          return html(
            reply,
            403,
            renderMessage('Not sent', 'this form only accepts posts from the status page itself', true),
          );
        }
        const who = viewer(access, request);
        return who.allowed ? undefined : refuse(reply, who);
      },
    },
    async (request, reply) => seedFromForm(routes.deps.seed, request.body, reply),
  );
}

/** Sends what the form asks for; a problem is shown as a small page. */
async function seedFromForm(seed: SeedRoutesDeps, body: unknown, reply: FastifyReply): Promise<FastifyReply> {
  if (!(body instanceof URLSearchParams)) {
    const text = 'send the form as application/x-www-form-urlencoded (scripts: POST /seed with JSON)';
    return html(reply, 415, renderMessage('Not sent', text, true));
  }
  const form = seedForm(body);
  if ('field' in form)
    return html(reply, 400, renderMessage('Not sent', `${form.field}: ${form.message}`, true));
  try {
    const result = await seed.send(form);
    const query = `seeded=${result.sent}&unique=${result.unique}&duplicates=${result.duplicates}`;
    return reply.redirect(`/?${query}#seed-result`, 303);
  } catch (error) {
    if (error instanceof SeedInputError) {
      return html(reply, 400, renderMessage('Not sent', `${error.field}: ${error.message}`, true));
    }
    return html(
      reply,
      503,
      renderMessage('Not sent', `the queue could not be reached: ${describeError(error)}`, true),
    );
  }
}

function recentFor(who: Viewer): { show: true } | { show: false; why: string } {
  return who.allowed ? { show: true } : { show: false, why: who.why };
}

/** 401 asks the browser for SEED_TOKEN (Basic: any user name, the token as password). */
function refuse(reply: FastifyReply, who: Exclude<Viewer, { allowed: true }>): FastifyReply {
  if (who.status === 401) reply.header('www-authenticate', `Basic realm="${SIGN_IN_REALM}", charset="UTF-8"`);
  const title = who.status === 401 ? 'Sign in needed' : 'Not allowed';
  return html(reply, who.status, renderMessage(title, who.why, true));
}

/** The form's fields: `count` and `duplicates`, whole numbers, and nothing else. */
export function seedForm(
  body: URLSearchParams,
): { count: number; duplicates: number } | { field: string; message: string } {
  const values: Record<string, number> = {};
  for (const [field, text] of body) {
    if (field !== 'count' && field !== 'duplicates') return { field, message: 'unknown field' };
    if (field in values) return { field, message: 'given twice' };
    if (!/^\s*\d{1,6}\s*$/.test(text)) return { field, message: 'must be a whole number' };
    values[field] = Number(text);
  }
  const count = values.count;
  const duplicates = values.duplicates ?? 0;
  if (count === undefined) return { field: 'count', message: 'is required' };
  if (count < 1 || count > MAX_SEED_COUNT)
    return { field: 'count', message: `must be from 1 to ${MAX_SEED_COUNT}` };
  return seedShapeError({ count, duplicates }) ?? { count, duplicates };
}

/** The redirect's numbers, shown once on the page; anything else in the query is ignored. */
function seededResult(query: Record<string, string | undefined>): Pick<SeedFormView, 'result'> {
  const [sent, unique, duplicates] = [query.seeded, query.unique, query.duplicates].map((v) =>
    v !== undefined && /^\d{1,6}$/.test(v) ? Number(v) : undefined,
  );
  if (sent === undefined || unique === undefined || duplicates === undefined) return {};
  return { result: { sent, unique, duplicates } };
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).headers(HTML_HEADERS).send(body);
}

/** Errors of the HTML routes (413, 415, 429, ...) as a small page, not JSON. */
function htmlError(error: FastifyError, reply: FastifyReply): FastifyReply {
  const status =
    error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
      ? error.statusCode
      : 500;
  if (status === 500) reply.log.error({ err: error }, 'status page request failed');
  return html(
    reply,
    status,
    renderMessage('Not done', status === 500 ? 'internal error' : error.message, true),
  );
}

/** Who, what, and the answer, as /seed logs them: never a header, never a credential in the URL. */
async function audit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  request.log.info(auditFields(request, reply), 'status page route');
}
