import { z } from 'zod';
import { ENVELOPE_MODES } from '../core/envelope.js';
import { crossRules } from './rules.js';
import {
  bearerToken,
  duration,
  durationOrZero,
  env,
  flag,
  host,
  hostList,
  httpUrl,
  int,
  maybe,
  oneOf,
  pattern,
  reader,
  text,
  type Kind,
  type LeafMeta,
} from './leaves.js';

/** A nested group of settings: unknown keys are an error, and the parsed object is frozen. */
const group = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape).readonly();

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = (note: string) => int(0, 65535, { note });

/** A number from 0 to 1, decimals allowed (OTEL_TRACES_SAMPLER_ARG). */
function ratio(): Kind<z.ZodNumber> {
  const rule = 'a number from 0 to 1';
  return {
    schema: z.number({ error: 'not a number' }).min(0, 'too small').max(1, 'too large'),
    rule,
    fieldRule: rule,
    fromEnv: reader(
      z
        .string()
        .regex(/^\d+(\.\d+)?$/, 'not a number')
        .transform(Number),
    ),
  };
}

const fields = {
  region: env(
    'AWS_REGION',
    pattern(
      /^(?=.{1,63}$)[a-z][a-z0-9]*(-[a-z0-9]+)*$/,
      'not an AWS region name',
      'an AWS region name such as us-east-1: lower-case letters, digits and single hyphens, starting with a letter, at most 63',
    ),
    {
      default: 'us-east-1',
      description: 'AWS region of the queue and the table. Credentials come from the default AWS chain.',
    },
  ),
  sqsEndpoint: env(
    'AWS_ENDPOINT_URL_SQS',
    maybe(httpUrl('AWS credentials come from the default AWS chain')),
    {
      description:
        'SQS endpoint override (ElasticMQ, fauxqs). When set, requests go to it instead of the queue URL host.',
    },
  ),
  dynamodbEndpoint: env(
    'AWS_ENDPOINT_URL_DYNAMODB',
    maybe(httpUrl('AWS credentials come from the default AWS chain')),
    {
      description: 'DynamoDB endpoint override (DynamoDB Local, dynalite).',
    },
  ),
  /** undefined means embedded mode: the queue is created in the in-process emulator. */
  queueUrl: env('SQS_QUEUE_URL', maybe(httpUrl('AWS credentials come from the default AWS chain')), {
    description: 'The queue to consume. Unset: embedded mode, with in-process SQS and DynamoDB emulators.',
  }),
  waitTimeSeconds: env('SQS_WAIT_TIME_SECONDS', int(0, 20), {
    default: '20',
    description: 'Long-poll wait of each ReceiveMessage call.',
  }),
  visibilityTimeoutSeconds: env('SQS_VISIBILITY_TIMEOUT', int(1, 43200, { unit: 'seconds' }), {
    default: '30',
    description:
      'Visibility timeout requested for received messages, in seconds; also the claim lease length.',
  }),
  batchSize: env('SQS_BATCH_SIZE', int(1, 10), {
    default: '10',
    description: 'Messages asked for per ReceiveMessage call.',
  }),
  batchFlushMs: env('SQS_BATCH_FLUSH_DELAY', durationOrZero('sent at once', 0.001, 10), {
    default: '0.1',
    description:
      'Deletes and visibility changes are sent as batches of up to 10 (DeleteMessageBatch, ChangeMessageVisibilityBatch): at once when 10 wait, else after this long, in seconds.',
  }),
  maxInFlight: env('MAX_IN_FLIGHT', int(1, 1000), {
    default: '50',
    description: 'Messages handled at once; no receive starts while this many are in flight.',
  }),
  /** undefined: derived from MAX_IN_FLIGHT and SQS_BATCH_SIZE (defaultReceiveConcurrency). */
  receiveConcurrency: env('RECEIVE_CONCURRENCY', maybe(int(1, 50)), {
    description:
      'Receives (long polls) in flight at once, sharing MAX_IN_FLIGHT: each asks only for room it has reserved. One receive moves at most SQS_BATCH_SIZE messages per round trip to SQS; more keep MAX_IN_FLIGHT busy when that round trip is long. Default: MAX_IN_FLIGHT / SQS_BATCH_SIZE rounded up, at most 10.',
  }),
  shutdownTimeoutMs: env('SHUTDOWN_TIMEOUT', durationOrZero('no wait', 0.001, 3600), {
    default: '25',
    description: 'On SIGTERM/SIGINT, how long in-flight messages may take to finish, in seconds.',
  }),
  /** 0: no timeout. */
  handlerTimeoutMs: env('HANDLER_TIMEOUT', durationOrZero('no limit', 0.01, 43200), {
    default: '300',
    description:
      'Longest a handler may run, in seconds; then its AbortSignal fires and the message is retried. 0: no limit.',
  }),
  backoff: group({
    baseMs: env('RETRY_BACKOFF_BASE', durationOrZero('retried at once', 0.001, 43200), {
      default: '1',
      description:
        'After a retryable failure the message is hidden for base * 2^(receives-1) seconds (at most RETRY_BACKOFF_MAX), with equal jitter: half of it fixed, half random.',
    }),
    maxMs: env('RETRY_BACKOFF_MAX', durationOrZero('retried at once', 0.001, 43200), {
      default: '300',
      description: 'Upper bound of that backoff, in seconds.',
    }),
  }),
  /** Path of a JSON Schema every body must satisfy. */
  messageSchema: env('MESSAGE_SCHEMA', maybe(text('a path to a JSON Schema file')), {
    description:
      'When set, bodies must be JSON and valid against this JSON Schema (draft 2020-12 or 7); others are dead-lettered.',
  }),
  messageEnvelope: env('MESSAGE_ENVELOPE', oneOf(ENVELOPE_MODES), {
    default: 'none',
    description:
      'Bodies arrive in an envelope to open first: `sns` (SNS subscription, no raw delivery), `eventbridge` (EventBridge rule target), `auto` (by shape) or `none`. The handler gets the inner message, the default key is the envelope id; a malformed envelope is dead-lettered.',
  }),
  webhook: group({
    url: env('WEBHOOK_URL', maybe(httpUrl('credentials go in WEBHOOK_HEADERS')), {
      description:
        'HANDLER=webhook: where each message is POSTed. No user name or password in it (refused: put credentials in WEBHOOK_HEADERS); query values are redacted wherever the URL is logged or stored.',
    }),
    headers: env(
      'WEBHOOK_HEADERS',
      maybe(
        pattern(
          /^[!#$%&'*+.^_`|~0-9A-Za-z-]+=[^,\r\n\0]*(,[!#$%&'*+.^_`|~0-9A-Za-z-]+=[^,\r\n\0]*)*$/,
          'not name=value pairs',
          'name=value pairs, comma-separated (header names, values without commas)',
        ),
      ),
      {
        description:
          'HANDLER=webhook: headers sent with every POST, e.g. `authorization=Bearer <token>`: where credentials go (never in WEBHOOK_URL). Never logged.',
        secret: true,
      },
    ),
    timeoutMs: env('WEBHOOK_TIMEOUT', duration(0.001, 3600), {
      default: '10',
      description: 'HANDLER=webhook: timeout of one POST, in seconds.',
    }),
  }),
  seed: group({
    /** undefined: on in embedded mode only. */
    enabled: env('SEED_ENABLED', maybe(flag()), {
      description:
        'Whether POST /seed and GET /records are served. Default: on in embedded mode, off otherwise; when on outside embedded mode, SEED_TOKEN is required.',
    }),
    token: env('SEED_TOKEN', maybe(bearerToken(16)), {
      description: 'Bearer token required by POST /seed and GET /records when set. Never logged.',
      secret: true,
    }),
    ratePerMinute: env('SEED_RATE_LIMIT', int(1, 100000), {
      default: '60',
      description:
        'Requests per minute per client address accepted by POST /seed, GET /records and the status page routes that carry credentials or act, one budget across all of them.',
    }),
  }),
  status: group({
    /** undefined: on in embedded mode only. */
    showKeys: env('STATUS_SHOW_KEYS', maybe(flag()), {
      description:
        'Whether the status page shows the keys of recent and failed deliveries: to loopback clients, or to anyone signed in with SEED_TOKEN when set. Default: on in embedded mode, off otherwise. Apart from SEED_ENABLED: opens neither POST /seed nor GET /records; counts, reasons and redacted errors show either way.',
    }),
  }),
  /** 0: off. */
  queueMetricsIntervalMs: env('QUEUE_METRICS_INTERVAL', durationOrZero('off', 0.1, 3600), {
    default: '30',
    description: 'How often queue and dead-letter queue depths are read (GetQueueAttributes) for metrics.',
  }),
  health: group({
    maxEventLoopDelayMs: env('HEALTH_MAX_EVENT_LOOP_DELAY', duration(0.01, 600), {
      default: '2',
      description: 'Liveness fails when the event loop lags more than this, in seconds.',
    }),
    maxPollFailures: env('READY_MAX_POLL_FAILURES', int(1, 1000), {
      default: '3',
      description: 'Readiness fails after this many receive failures in a row (bad credentials, queue gone).',
    }),
    maxStoreFailures: env('READY_MAX_STORE_FAILURES', int(1, 1000), {
      default: '3',
      description:
        'Readiness fails after this many idempotency store calls in a row failed (timeouts, refused connections, 5xx); the next success clears it.',
    }),
  }),
  awsCalls: group({
    connectTimeoutMs: env('AWS_CONNECT_TIMEOUT', duration(0.01, 10), {
      default: '2',
      description: 'Longest wait for a connection to SQS or DynamoDB, in seconds.',
    }),
    sqsRequestTimeoutMs: env('SQS_REQUEST_TIMEOUT', duration(0.01, 30), {
      default: '5',
      description:
        'Longest wait for the answer to one SQS request, in seconds; a ReceiveMessage gets SQS_WAIT_TIME_SECONDS on top.',
    }),
    dynamodbRequestTimeoutMs: env('DYNAMODB_REQUEST_TIMEOUT', duration(0.01, 30), {
      default: '3',
      description: 'Longest wait for the answer to one DynamoDB request, in seconds.',
    }),
    maxAttempts: env('AWS_MAX_ATTEMPTS', int(1, 10), {
      default: '3',
      description:
        'Attempts per SQS or DynamoDB call, the first included: the SDK retries throttling, 5xx, refused connections and timeouts, but not a timed-out long poll (the receive loop retries that).',
    }),
  }),
  idempotency: group({
    table: env(
      'IDEMPOTENCY_TABLE',
      pattern(
        /^[a-zA-Z0-9_.-]{3,255}$/,
        'not a DynamoDB table name',
        '3 to 255 characters of a-z, A-Z, 0-9, _, - and .',
      ),
      {
        default: 'sqs-worker-idempotency',
        description: 'DynamoDB table holding the idempotency records (partition key `pk`, a string).',
      },
    ),
    keyAttribute: env(
      'IDEMPOTENCY_KEY_ATTRIBUTE',
      pattern(
        /^(?!(aws|amazon)\.)(?!\.)(?!.*\.\.)(?!.*\.$)[a-zA-Z0-9_.-]{1,256}$/i,
        'not a name SQS allows for a message attribute',
        "1 to 256 characters of a-z, A-Z, 0-9, _, - and . (SQS's rule): not starting or ending with ., no .., not starting with AWS. or Amazon. in any case",
      ),
      {
        default: 'IdempotencyKey',
        description:
          'Message attribute that carries the idempotency key; messages without it use their MessageId.',
      },
    ),
    /** undefined: derived from the queue name once the queue URL is known. */
    namespace: env(
      'IDEMPOTENCY_NAMESPACE',
      maybe(pattern(/^[^#]{1,200}$/, 'empty, too long or contains #', '1 to 200 characters, no #')),
      {
        description:
          'Prefix of every record key, so several workers can share one table. Default: the queue name.',
      },
    ),
    retentionSeconds: env('IDEMPOTENCY_RETENTION_SECONDS', int(60, 31_536_000, { unit: 'seconds' }), {
      default: '86400',
      description:
        'How long a record is kept after its last write (and a completed key answers "duplicate" after completion), in seconds; longer than SQS_VISIBILITY_TIMEOUT.',
    }),
    /** undefined: min(1 s, a tenth of the visibility timeout); see leaseClockSkewMs() in worker/lease.ts. */
    clockSkewMs: env('LEASE_CLOCK_SKEW', maybe(durationOrZero('no margin', 0.001, 7200)), {
      description:
        'Clock difference between workers that leases tolerate, in seconds: a lease is taken over only this long after it lapsed, and its holder stops this long before. At most a sixth of SQS_VISIBILITY_TIMEOUT. Default: 1, or a tenth of the visibility timeout when that is smaller.',
    }),
    /** Completed keys kept in memory; 0: none. */
    cacheSize: env('IDEMPOTENCY_CACHE_SIZE', int(0, 10_000_000, { note: '0: no cache' }), {
      default: '10000',
      description:
        'Completed keys remembered in memory, least recently used first out, so hot duplicates cost no DynamoDB call.',
    }),
    batching: env('STORE_BATCHING', oneOf(['auto', 'off']), {
      default: 'auto',
      description:
        '`auto`: the first claims of one receive go to DynamoDB as one PartiQL BatchExecuteStatement, and completes gathered for up to SQS_BATCH_FLUSH_DELAY go together (up to 25 a request), when the table takes it (probed at start: AWS and DynamoDB Local do, dynalite does not); a write a batch cannot settle goes through the single calls. `off`: single calls only. The choice is logged and shown in /status.json.',
    }),
  }),
  http: group({
    host: env('HTTP_HOST', host(), {
      default: '127.0.0.1',
      description:
        'Address the sidecar (health, metrics, seed) listens on. The default serves this machine only; a container sets 0.0.0.0 (the Dockerfile, compose file and Kubernetes manifests do).',
    }),
    port: env('HTTP_PORT', port('0 picks a free port'), {
      default: '8080',
      description: 'Port of the sidecar.',
    }),
    allowedHosts: env(
      'HTTP_ALLOWED_HOSTS',
      maybe(hostList('host names or addresses, comma-separated (no port, no scheme)')),
      {
        description:
          'Names besides localhost, 127.0.0.1 and [::1] that a request to /seed, /records or the status page may carry in its Host header (any port); every other Host is refused with 403, so a page of another site rebound to this address (DNS rebinding) reaches nothing. Probes and /metrics answer any Host.',
      },
    ),
    requestTimeoutMs: env('HTTP_REQUEST_TIMEOUT', duration(1, 300), {
      default: '10',
      description:
        'A request to the sidecar, headers and body, must arrive within this many seconds; else 408 and the connection is closed (headers alone: within 5 s, or this when shorter).',
    }),
    keepAliveTimeoutMs: env('HTTP_KEEP_ALIVE_TIMEOUT', duration(1, 600), {
      default: '5',
      description: 'An idle keep-alive connection to the sidecar is closed after this many seconds.',
    }),
    maxConnections: env('HTTP_MAX_CONNECTIONS', int(1, 65535), {
      default: '256',
      description:
        'Open connections to the sidecar at most. A new one over the cap replaces the oldest connection the server is not answering on (still sending its request, or idle), so stalled clients never keep the probes out; it is closed only when every connection carries a request being answered.',
    }),
  }),
  logLevel: env('LOG_LEVEL', oneOf(LOG_LEVELS), { default: 'info', description: 'pino log level.' }),
  logMessageBodies: env('LOG_MESSAGE_BODIES', flag(), {
    default: 'false',
    description:
      'HANDLER=log: also log each body and its attribute values (redacted like every log line). Off: ids, key, sizes and attribute names only.',
  }),
  logRedact: env(
    'LOG_REDACT',
    maybe(
      pattern(
        /^ *[A-Za-z0-9_.-]{1,128}( *, *[A-Za-z0-9_.-]{1,128}){0,99} *$/,
        'not a list of field names',
        'comma-separated field names of letters, digits, _, - and . (at most 100)',
      ),
    ),
    {
      description:
        'More field names whose values are never logged, added to the built-in list (password, secret, token, apiKey, authorization, cookie, credentials, ...); matched at any depth, ignoring case, `-`, `_` and `.`.',
    },
  ),
  handler: env(
    'HANDLER',
    maybe(
      text(
        'a built-in handler name (log, webhook) or a path to a module exporting handle(message, context) or handleBatch(messages, context); required when SQS_QUEUE_URL is set',
      ),
    ),
    {
      description:
        'What is done with each message: the path of your module exporting handle(message, context) or handleBatch(messages, context), or `log` (logs and deletes each message) or `webhook` (POSTs each to WEBHOOK_URL). Required with SQS_QUEUE_URL (a real queue): without it the worker exits 2. Unset in embedded mode: `log`.',
    },
  ),
  handlerBatchWindowMs: env(
    'HANDLER_BATCH_WINDOW',
    durationOrZero('the next turn of the event loop', 0.001, 10),
    {
      default: '0.01',
      description:
        'For a handler module exporting handleBatch: how long the first claimed message waits for others before handleBatch runs, in seconds; a batch of SQS_BATCH_SIZE goes at once.',
    },
  ),
  embedded: group({
    sqsPort: env('EMBEDDED_SQS_PORT', port('0 picks a free port'), {
      default: '9324',
      description: 'Embedded mode: loopback port of the in-process SQS emulator (fauxqs).',
    }),
    dynamodbPort: env('EMBEDDED_DYNAMODB_PORT', port('0 picks a free port'), {
      default: '8000',
      description: 'Embedded mode: loopback port of the in-process DynamoDB emulator (dynalite).',
    }),
    queueName: env(
      'EMBEDDED_QUEUE_NAME',
      pattern(
        /^[a-zA-Z0-9_-]{1,75}(\.fifo)?$/,
        'not an SQS queue name',
        '1 to 75 characters of a-z, A-Z, 0-9, _ and -, optionally ending in .fifo',
      ),
      {
        default: 'sqs-worker',
        description:
          'Embedded mode: name of the queue created at start; its dead-letter queue is `<name>-dlq`.',
      },
    ),
  }),
  maxReceiveCount: env('MAX_RECEIVE_COUNT', int(1, 1000), {
    default: '5',
    description:
      'Embedded mode and `queue create`: receives before SQS moves a message to the dead-letter queue.',
  }),
  /** OpenTelemetry tracing (observability/tracing.ts): off unless an exporter or endpoint is set. */
  tracing: group({
    exporter: env('OTEL_TRACES_EXPORTER', maybe(oneOf(['otlp', 'none'])), {
      description:
        'otlp: traces are exported over OTLP/HTTP (JSON); none: no tracing. Default: otlp when an OTLP endpoint below is set, else tracing is off.',
    }),
    endpoint: env(
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      maybe(httpUrl('credentials go in OTEL_EXPORTER_OTLP_HEADERS')),
      {
        description:
          'Base URL of the OTLP/HTTP collector; spans go to `<url>/v1/traces`. Setting it turns tracing on. Default with OTEL_TRACES_EXPORTER=otlp: http://localhost:4318.',
      },
    ),
    tracesEndpoint: env(
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      maybe(httpUrl('credentials go in OTEL_EXPORTER_OTLP_HEADERS')),
      {
        description:
          'Full URL spans are POSTed to, used as given; wins over OTEL_EXPORTER_OTLP_ENDPOINT. Setting it turns tracing on.',
      },
    ),
    headers: env(
      'OTEL_EXPORTER_OTLP_HEADERS',
      maybe(
        pattern(
          /^[^=,]+=[^,]*(,[^=,]+=[^,]*)*$/,
          'not name=value pairs',
          'name=value pairs, comma-separated',
        ),
      ),
      {
        description: 'Headers sent with every export (`api-key=...`), as the spec writes them. Never logged.',
        secret: true,
      },
    ),
    timeoutMs: env('OTEL_EXPORTER_OTLP_TIMEOUT', int(1, 60_000, { unit: 'milliseconds' }), {
      default: '10000',
      description:
        'Longest wait for one export, in milliseconds (the OpenTelemetry unit); a dead collector costs dropped spans, never a blocked message.',
    }),
    scheduleDelayMs: env('OTEL_BSP_SCHEDULE_DELAY', int(1, 60_000, { unit: 'milliseconds' }), {
      default: '5000',
      description: 'Spans are exported in batches at least this often, in milliseconds.',
    }),
    serviceName: env('OTEL_SERVICE_NAME', text('a non-empty service name'), {
      default: 'sqs-idempotent-worker',
      description: 'The `service.name` of the spans.',
    }),
    sampler: env(
      'OTEL_TRACES_SAMPLER',
      oneOf([
        'parentbased_always_on',
        'parentbased_always_off',
        'parentbased_traceidratio',
        'always_on',
        'always_off',
        'traceidratio',
      ]),
      {
        default: 'parentbased_always_on',
        description:
          "Which traces are recorded. A delivery's span is a root linked to the producer's, so the parentbased_* samplers apply their root rule to it.",
      },
    ),
    samplerArg: env('OTEL_TRACES_SAMPLER_ARG', maybe(ratio()), {
      description: 'The *traceidratio samplers: the share of traces recorded, 0 to 1. Default: 1.',
    }),
    sdkDisabled: env('OTEL_SDK_DISABLED', flag(), {
      default: 'false',
      description: 'true: no tracing, whatever the variables above say.',
    }),
  }),
};

/**
 * The whole configuration: every leaf is a field in Config's units, registered with the variable
 * that sets it (see leaves.ts). Parsing it validates every field and the cross-field rules and
 * returns a deeply frozen Config.
 */
export const configSchema = z.strictObject(fields).superRefine(crossRules).readonly();

export type Config = z.output<typeof configSchema>;

/** The one variable that sets no field: it names the profile file read before the environment. */
export const profileVariable: LeafMeta = {
  name: 'CONFIG_PROFILE',
  rule: 'a file name under config/ without .json (lower-case letters, digits, - and _)',
  fieldRule: 'a file name under config/ without .json (lower-case letters, digits, - and _)',
  description:
    'Loads `config/<profile>.json` (an object of these variables) before the environment; the environment wins.',
  fromEnv: reader(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'not a profile name')),
};
