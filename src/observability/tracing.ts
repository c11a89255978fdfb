import type { Logger } from '../core/logger.js';
import { noTracing, queueNameOf, type Tracing } from '../core/tracing.js';
// Types only (erased): the module itself is imported dynamically, when tracing is on.
import type { createOtelTracing } from './otel.js';
import type { TracingSettings } from './tracing-settings.js';

/**
 * Whether and where to trace, from the standard OTEL_* variables (config/schema.ts). When tracing
 * is off nothing of OpenTelemetry is loaded: this file imports none of it, and the implementation
 * (otel.ts) is imported dynamically only when it is on.
 */

export type { TracingSettings } from './tracing-settings.js';

/** What createOtelTracing needs besides the settings. */
export interface TracingOptions {
  readonly logger: Logger;
  readonly serviceVersion: string;
  readonly instanceId?: string | undefined;
  /** How the implementation is loaded (tests count the calls); default: import('./otel.js'). */
  readonly load?: () => Promise<{ createOtelTracing: typeof createOtelTracing }>;
}

/** The spec's default collector, for OTEL_TRACES_EXPORTER=otlp without an endpoint. */
export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';

/**
 * Where spans are POSTed, or undefined when tracing is off. On when OTEL_TRACES_EXPORTER=otlp, or
 * when an OTLP endpoint is set and OTEL_TRACES_EXPORTER is not `none`; OTEL_SDK_DISABLED=true
 * turns it off. The traces endpoint is used as given; the general one gets `v1/traces` appended.
 */
export function tracesUrl(settings: TracingSettings): string | undefined {
  if (settings.sdkDisabled || settings.exporter === 'none') return undefined;
  if (settings.tracesEndpoint !== undefined) return settings.tracesEndpoint;
  const base = settings.endpoint ?? (settings.exporter === 'otlp' ? DEFAULT_OTLP_ENDPOINT : undefined);
  if (base === undefined) return undefined;
  return `${base}${base.endsWith('/') ? '' : '/'}v1/traces`;
}

/** Tracing per the settings: `noTracing` when off (nothing loaded), else OpenTelemetry. */
export async function startTracing(settings: TracingSettings, options: TracingOptions): Promise<Tracing> {
  const url = tracesUrl(settings);
  if (url === undefined) return noTracing;
  const load = options.load ?? (() => import('./otel.js'));
  const { createOtelTracing } = await load();
  const tracing = createOtelTracing(settings, {
    url,
    serviceVersion: options.serviceVersion,
    logger: options.logger,
    instanceId: options.instanceId,
  });
  options.logger.info(
    { tracesEndpoint: withoutSecrets(url), serviceName: settings.serviceName, sampler: settings.sampler },
    'tracing on: spans are exported over OTLP/HTTP',
  );
  return tracing;
}

/** What a one-shot command's last flush of spans may take. */
const ONE_SHOT_FLUSH_MS = 2000;

/**
 * For one-shot commands (`produce`): runs `send` in a PRODUCER span for the queue when tracing is
 * on, hands it the attributes that carry the span's context, and flushes the span before it
 * resolves; with tracing off, `send` gets no attributes and nothing is loaded.
 */
export async function withProducerSpan<T>(
  settings: TracingSettings,
  options: TracingOptions,
  queueUrl: string,
  send: (traceAttributes: Readonly<Record<string, string>>) => Promise<T>,
): Promise<T> {
  const tracing = await startTracing(settings, options);
  try {
    return await tracing.produce(queueNameOf(queueUrl), send);
  } finally {
    await tracing.shutdown(ONE_SHOT_FLUSH_MS);
  }
}

/** A URL as it may be logged: no user info, no query. */
function withoutSecrets(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
