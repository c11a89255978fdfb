import { z } from 'zod';

/**
 * Every setting the worker reads, by its environment variable name. This table is the single
 * source of truth: loadConfig() validates against it and a test checks that the README's
 * configuration table lists exactly these variables with these defaults.
 */
export interface VariableSpec {
  /** Parses the raw string; failures are reported with `rule`. */
  readonly schema: z.ZodType<unknown, string>;
  /** The default as it would be written in the environment; undefined means "unset". */
  readonly default?: string;
  /** Human-readable rule, printed when the value is rejected. */
  readonly rule: string;
  readonly description: string;
  /** Never printed in logs or error messages. */
  readonly secret?: boolean;
}

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, 'not an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** A duration in seconds; decimals allowed so tests can use sub-second values. */
const seconds = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'not a number of seconds')
    .transform(Number)
    .pipe(z.number().min(min).max(max));

const oneOf = <T extends string>(values: readonly [T, ...T[]]) => z.enum(values);
const text = z.string().min(1, 'empty');
const url = z.url({ protocol: /^https?$/, error: 'not an http(s) URL' });

const bool = z.enum(['true', 'false'], { error: 'not true or false' }).transform((v) => v === 'true');

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const variables = {
  CONFIG_PROFILE: {
    schema: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'not a profile name'),
    rule: 'a file name under config/ without .json (lower-case letters, digits, - and _)',
    description:
      'Loads `config/<profile>.json` (an object of these variables) before the environment; the environment wins.',
  },
  AWS_REGION: {
    schema: text,
    default: 'us-east-1',
    rule: 'a non-empty AWS region name',
    description: 'AWS region of the queue and the table. Credentials come from the default AWS chain.',
  },
  AWS_ENDPOINT_URL_SQS: {
    schema: url,
    rule: 'an http(s) URL',
    description:
      'SQS endpoint override (ElasticMQ, fauxqs). When set, requests go to it instead of the queue URL host.',
  },
  AWS_ENDPOINT_URL_DYNAMODB: {
    schema: url,
    rule: 'an http(s) URL',
    description: 'DynamoDB endpoint override (DynamoDB Local, dynalite).',
  },
  SQS_QUEUE_URL: {
    schema: url,
    rule: 'an http(s) URL',
    description: 'The queue to consume. Unset: embedded mode, with in-process SQS and DynamoDB emulators.',
  },
  SQS_WAIT_TIME_SECONDS: {
    schema: integer(0, 20),
    default: '20',
    rule: 'an integer from 0 to 20',
    description: 'Long-poll wait of each ReceiveMessage call.',
  },
  SQS_VISIBILITY_TIMEOUT: {
    schema: integer(1, 43200),
    default: '30',
    rule: 'an integer number of seconds from 1 to 43200',
    description:
      'Visibility timeout requested for received messages, in seconds; also the claim lease length.',
  },
  SQS_BATCH_SIZE: {
    schema: integer(1, 10),
    default: '10',
    rule: 'an integer from 1 to 10',
    description: 'Messages asked for per ReceiveMessage call.',
  },
  MAX_IN_FLIGHT: {
    schema: integer(1, 1000),
    default: '50',
    rule: 'an integer from 1 to 1000',
    description: 'Messages handled at once; no receive starts while this many are in flight.',
  },
  HANDLER_TIMEOUT: {
    schema: seconds(0, 43200),
    default: '300',
    rule: 'a number of seconds from 0 to 43200 (0: no timeout)',
    description:
      'Longest a handler may run, in seconds; then its AbortSignal fires and the message is retried. 0: no limit.',
  },
  RETRY_BACKOFF_BASE: {
    schema: seconds(0, 43200),
    default: '1',
    rule: 'a number of seconds from 0 to 43200',
    description:
      'After a retryable failure the message is hidden for base * 2^(receives-1) seconds, with full jitter.',
  },
  RETRY_BACKOFF_MAX: {
    schema: seconds(0, 43200),
    default: '300',
    rule: 'a number of seconds from 0 to 43200',
    description: 'Upper bound of that backoff, in seconds.',
  },
  MESSAGE_SCHEMA: {
    schema: text,
    rule: 'a path to a JSON Schema file',
    description:
      'When set, bodies must be JSON and valid against this JSON Schema (draft 2020-12 or 7); others are dead-lettered.',
  },
  WEBHOOK_URL: {
    schema: url,
    rule: 'an http(s) URL',
    description: 'HANDLER=webhook: where each message is POSTed.',
  },
  WEBHOOK_TIMEOUT: {
    schema: seconds(0.001, 3600),
    default: '10',
    rule: 'a number of seconds from 0.001 to 3600',
    description: 'HANDLER=webhook: timeout of one POST, in seconds.',
  },
  SHUTDOWN_TIMEOUT: {
    schema: seconds(0, 3600),
    default: '25',
    rule: 'a number of seconds from 0 to 3600',
    description: 'On SIGTERM/SIGINT, how long in-flight messages may take to finish, in seconds.',
  },
  SEED_ENABLED: {
    schema: bool,
    rule: 'true or false',
    description:
      'Whether POST /seed and GET /records are served. Default: on in embedded mode, off otherwise; when on outside embedded mode, SEED_TOKEN is required.',
  },
  SEED_TOKEN: {
    schema: z.string().min(16, 'shorter than 16 characters'),
    rule: 'at least 16 characters',
    description: 'Bearer token required by POST /seed and GET /records when set. Never logged.',
    secret: true,
  },
  SEED_RATE_LIMIT: {
    schema: integer(1, 100000),
    default: '60',
    rule: 'an integer from 1 to 100000',
    description: 'Requests per minute per client accepted by POST /seed and GET /records.',
  },
  QUEUE_METRICS_INTERVAL: {
    schema: seconds(0, 3600),
    default: '30',
    rule: 'a number of seconds from 0 to 3600 (0: off)',
    description: 'How often queue and dead-letter queue depths are read (GetQueueAttributes) for metrics.',
  },
  HEALTH_MAX_EVENT_LOOP_DELAY: {
    schema: seconds(0.01, 600),
    default: '2',
    rule: 'a number of seconds from 0.01 to 600',
    description: 'Liveness fails when the event loop lags more than this, in seconds.',
  },
  READY_MAX_POLL_FAILURES: {
    schema: integer(1, 1000),
    default: '3',
    rule: 'an integer from 1 to 1000',
    description: 'Readiness fails after this many receive failures in a row (bad credentials, queue gone).',
  },
  IDEMPOTENCY_TABLE: {
    schema: z.string().regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'not a DynamoDB table name'),
    default: 'sqs-worker-idempotency',
    rule: '3 to 255 characters of a-z, A-Z, 0-9, _, - and .',
    description: 'DynamoDB table holding the idempotency records (partition key `pk`, a string).',
  },
  IDEMPOTENCY_KEY_ATTRIBUTE: {
    schema: z.string().regex(/^[a-zA-Z0-9_.-]{1,256}$/, 'not a message attribute name'),
    default: 'IdempotencyKey',
    rule: '1 to 256 characters of a-z, A-Z, 0-9, _, - and .',
    description:
      'Message attribute that carries the idempotency key; messages without it use their MessageId.',
  },
  IDEMPOTENCY_NAMESPACE: {
    schema: z.string().regex(/^[^#]{1,200}$/, 'empty, too long or contains #'),
    rule: '1 to 200 characters, no #',
    description:
      'Prefix of every record key, so several workers can share one table. Default: the queue name.',
  },
  IDEMPOTENCY_RETENTION_SECONDS: {
    schema: integer(60, 31_536_000),
    default: '86400',
    rule: 'an integer number of seconds from 60 to 31536000',
    description: 'How long a record is kept (and a completed key answers "duplicate"), in seconds.',
  },
  IDEMPOTENCY_CACHE_SIZE: {
    schema: integer(0, 10_000_000),
    default: '10000',
    rule: 'an integer from 0 to 10000000 (0: no cache)',
    description:
      'Completed keys remembered in memory, least recently used first out, so hot duplicates cost no DynamoDB call.',
  },
  HTTP_HOST: {
    schema: text,
    default: '0.0.0.0',
    rule: 'a non-empty host name or address',
    description: 'Address the sidecar (health, metrics, seed) listens on.',
  },
  HTTP_PORT: {
    schema: integer(0, 65535),
    default: '8080',
    rule: 'an integer from 0 to 65535 (0 picks a free port)',
    description: 'Port of the sidecar.',
  },
  LOG_LEVEL: {
    schema: oneOf(LOG_LEVELS),
    default: 'info',
    rule: `one of ${LOG_LEVELS.join(', ')}`,
    description: 'pino log level.',
  },
  HANDLER: {
    schema: text,
    default: 'log',
    rule: 'a built-in handler name (log) or a path to a module exporting handle(message, context)',
    description: 'What is done with each message.',
  },
  EMBEDDED_SQS_PORT: {
    schema: integer(0, 65535),
    default: '9324',
    rule: 'an integer from 0 to 65535 (0 picks a free port)',
    description: 'Embedded mode: loopback port of the in-process SQS emulator (fauxqs).',
  },
  EMBEDDED_DYNAMODB_PORT: {
    schema: integer(0, 65535),
    default: '8000',
    rule: 'an integer from 0 to 65535 (0 picks a free port)',
    description: 'Embedded mode: loopback port of the in-process DynamoDB emulator (dynalite).',
  },
  EMBEDDED_QUEUE_NAME: {
    schema: z.string().regex(/^[a-zA-Z0-9_-]{1,75}(\.fifo)?$/, 'not an SQS queue name'),
    default: 'sqs-worker',
    rule: '1 to 75 characters of a-z, A-Z, 0-9, _ and -, optionally ending in .fifo',
    description: 'Embedded mode: name of the queue created at start; its dead-letter queue is `<name>-dlq`.',
  },
  MAX_RECEIVE_COUNT: {
    schema: integer(1, 1000),
    default: '5',
    rule: 'an integer from 1 to 1000',
    description:
      'Embedded mode and `queue create`: receives before SQS moves a message to the dead-letter queue.',
  },
} as const satisfies Record<string, VariableSpec>;

export type VariableName = keyof typeof variables;
