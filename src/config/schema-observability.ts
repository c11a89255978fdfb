import { z } from 'zod';
import {
  duration,
  durationOrZero,
  env,
  flag,
  group,
  httpUrl,
  int,
  maybe,
  oneOf,
  pattern,
  reader,
  text,
  type Kind,
} from './leaves.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

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

/**
 * What the worker tells about itself: queue depth metrics, health thresholds, logging and
 * OpenTelemetry tracing.
 * Part of the one config schema (schema.ts), which lists the fields in the documented order.
 */
export const observabilityFields = {
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
  logLevel: env('LOG_LEVEL', oneOf(LOG_LEVELS), { default: 'info', description: 'pino log level.' }),
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
