import { AsyncLocalStorage } from 'node:async_hooks';
import {
  context,
  diag,
  DiagLogLevel,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type ContextManager,
  type DiagLogger,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { parseKeyPairsIntoRecord, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import {
  ATTR_ERROR_TYPE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_MESSAGING_SYSTEM_NAME,
  ATTR_SERVICE_INSTANCE_ID,
  MESSAGING_SYSTEM_NAME_VALUE_AWS_SQS,
  MESSAGING_SYSTEM_VALUE_AWS_SQS,
} from '@opentelemetry/semantic-conventions/incubating';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ReceivedMessage } from '../core/queue.js';
import type {
  DeliveryEnd,
  DeliveryTrace,
  TraceAttributes,
  TracedDelivery,
  TraceStep,
  Tracing,
} from '../core/tracing.js';
import type { TracingSettings } from './tracing-settings.js';

/**
 * The OpenTelemetry side of core/tracing.ts: a TracerProvider with a BatchSpanProcessor and the
 * OTLP/HTTP (JSON) exporter, registered as the global provider, context manager (AsyncLocalStorage)
 * and propagator (W3C), so a handler's own `@opentelemetry/api` calls join the delivery's trace.
 * Loaded only by a dynamic import (observability/tracing.ts), when tracing is configured.
 *
 * Spans end in memory; the processor exports them in batches off the message path. A slow or
 * dead collector costs dropped spans (the processor's queue is bounded), never a blocked message:
 * every export has a timeout, and shutdown() gives up after its own.
 */

/** Our own attributes, under a prefix of ours (the semantic conventions have none for these). */
export const WORKER_ATTRIBUTES = {
  outcome: 'sqs_worker.outcome',
  action: 'sqs_worker.action',
  reason: 'sqs_worker.reason',
  key: 'sqs_worker.idempotency.key',
  receiveCount: 'sqs_worker.message.receive_count',
  claim: 'sqs_worker.claim.result',
  attempt: 'sqs_worker.claim.attempt',
  settle: 'sqs_worker.settle.action',
} as const;

export interface OtelOptions {
  /** Where spans are POSTed (…/v1/traces). */
  readonly url: string;
  readonly serviceVersion: string;
  readonly instanceId?: string | undefined;
  /** Where the SDK's own warnings and errors go (failed exports, dropped spans), rate-limited. */
  readonly logger?: Logger;
}

/** The SDK's complaints are logged at most this often (a dead collector fails every batch). */
export const DIAG_LOG_INTERVAL_MS = 60_000;

const SCOPE = 'sqs-idempotent-worker';
const propagator = new W3CTraceContextPropagator();

/** Tracing over OpenTelemetry, per the settings; registers the globals (see the file's comment). */
export function createOtelTracing(settings: TracingSettings, options: OtelOptions): Tracing {
  const exporter = new OTLPTraceExporter({
    url: options.url,
    timeoutMillis: settings.timeoutMs,
    // Spreads here: the exporter merges its config over defaults (OTEL_EXPORTER_OTLP_HEADERS), and a
    // resource attribute set to undefined is still an attribute.
    ...(settings.headers === undefined ? {} : { headers: parseKeyPairsIntoRecord(settings.headers) }),
  });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion,
      ...(options.instanceId === undefined ? {} : { [ATTR_SERVICE_INSTANCE_ID]: options.instanceId }),
    }),
    sampler: sampler(settings),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        scheduledDelayMillis: settings.scheduleDelayMs,
        exportTimeoutMillis: settings.timeoutMs,
      }),
    ],
  });
  const contextManager = new AsyncLocalContextManager();
  const registered = {
    diag:
      options.logger !== undefined &&
      diag.setLogger(limitedDiagLogger(options.logger), {
        logLevel: DiagLogLevel.WARN,
        suppressOverrideMessage: true,
      }),
    provider: trace.setGlobalTracerProvider(provider),
    context: context.setGlobalContextManager(contextManager),
    propagator: propagation.setGlobalPropagator(propagator),
  };
  const tracer = provider.getTracer(SCOPE, options.serviceVersion);
  /** Unregisters what we registered, flushes; once, whoever calls. */
  const close = async (timeoutMs: number): Promise<void> => {
    if (registered.provider) trace.disable();
    if (registered.propagator) propagation.disable();
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([provider.shutdown().catch(() => {}), gaveUp]);
    clearTimeout(timer);
    if (registered.context) context.disable();
    if (registered.diag) diag.disable();
  };
  let closed: Promise<void> | undefined;
  return {
    enabled: true,
    startDelivery: (delivery) => new OtelDelivery(tracer, delivery),
    produce: (destination, send) => produce(tracer, destination, send),
    shutdown: (timeoutMs) => (closed ??= close(timeoutMs)),
  };
}

function sampler(settings: TracingSettings): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(settings.samplerArg ?? 1);
  switch (settings.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
  }
}

/** The span of one delivery: a root CONSUMER span, linked to the producer's context if any. */
class OtelDelivery implements DeliveryTrace {
  readonly #tracer: Tracer;
  readonly #span: Span;
  /** The delivery span as a parent, for the steps. */
  readonly #context: Context;

  constructor(tracer: Tracer, delivery: TracedDelivery) {
    const { received, key, destination } = delivery;
    const producer = producerContext(received, delivery.attributes);
    const links: Link[] = producer ? [{ context: producer }] : [];
    this.#tracer = tracer;
    this.#span = tracer.startSpan(`process ${destination}`, {
      kind: SpanKind.CONSUMER,
      root: true,
      links,
      attributes: {
        [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_AWS_SQS,
        [ATTR_MESSAGING_SYSTEM_NAME]: MESSAGING_SYSTEM_NAME_VALUE_AWS_SQS,
        [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
        [ATTR_MESSAGING_OPERATION_NAME]: 'process',
        [ATTR_MESSAGING_DESTINATION_NAME]: destination,
        [ATTR_MESSAGING_MESSAGE_ID]: received.messageId,
        [ATTR_MESSAGING_MESSAGE_BODY_SIZE]: Buffer.byteLength(received.body),
        [WORKER_ATTRIBUTES.receiveCount]: received.receiveCount,
        [WORKER_ATTRIBUTES.key]: key,
      },
    });
    this.#context = trace.setSpan(ROOT_CONTEXT, this.#span);
  }

  async step<T>(
    name: TraceStep,
    work: () => Promise<T>,
    describe?: (result: T) => TraceAttributes,
  ): Promise<T> {
    const span = this.#tracer.startSpan(name, { kind: SpanKind.INTERNAL }, this.#context);
    if (name === 'settle') span.setAttribute(ATTR_MESSAGING_OPERATION_TYPE, 'settle');
    try {
      const result = await context.with(trace.setSpan(this.#context, span), work);
      if (describe) span.setAttributes(defined(describe(result)));
      return result;
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  end(result: DeliveryEnd): void {
    const span = this.#span;
    span.setAttributes(
      defined({
        [WORKER_ATTRIBUTES.outcome]: result.outcome,
        [WORKER_ATTRIBUTES.action]: result.action,
        [WORKER_ATTRIBUTES.reason]: result.reason?.code,
      }),
    );
    if (result.error !== undefined) {
      recordError(span, result.error);
    } else if (result.action === 'dead_letter') {
      span.setAttribute(ATTR_ERROR_TYPE, result.reason?.code ?? 'dead_letter');
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.reason?.message ?? result.outcome });
    }
    span.end();
  }
}

async function produce<T>(
  tracer: Tracer,
  destination: string,
  send: (attributes: Readonly<Record<string, string>>) => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(`send ${destination}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_AWS_SQS,
      [ATTR_MESSAGING_SYSTEM_NAME]: MESSAGING_SYSTEM_NAME_VALUE_AWS_SQS,
      [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
      [ATTR_MESSAGING_OPERATION_NAME]: 'send',
      [ATTR_MESSAGING_DESTINATION_NAME]: destination,
    },
  });
  const carrier: Record<string, string> = {};
  const spanContext = trace.setSpan(context.active(), span);
  propagator.inject(spanContext, carrier, defaultTextMapSetter);
  try {
    return await context.with(spanContext, () => send(carrier));
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * The producer's span context: the W3C `traceparent` (+ `tracestate`) message attributes (an SNS
 * envelope's included), else SQS's `AWSTraceHeader` system attribute (X-Ray's format). Undefined
 * when neither is valid.
 */
export function producerContext(
  received: ReceivedMessage,
  attributes: Readonly<Record<string, string>>,
): SpanContext | undefined {
  const traceparent = attributes['traceparent'];
  if (traceparent !== undefined) {
    const tracestate = attributes['tracestate'];
    // The propagator enumerates the carrier's keys: a tracestate that was not sent stays absent.
    const carrier = { traceparent, ...(tracestate === undefined ? {} : { tracestate }) };
    const found = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
    if (found && isSpanContextValid(found)) return found;
  }
  return received.awsTraceHeader === undefined ? undefined : fromXRayHeader(received.awsTraceHeader);
}

/**
 * An X-Ray trace header (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`)
 * as a remote span context: the trace id is the root's two hex parts joined (X-Ray's ids are
 * W3C-compatible), the span id its Parent. Undefined without a valid Root and Parent.
 */
export function fromXRayHeader(header: string): SpanContext | undefined {
  const fields = new Map<string, string>();
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals > 0) fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const root = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/i.exec(fields.get('Root') ?? '');
  const parent = fields.get('Parent') ?? '';
  if (!root || !/^[0-9a-f]{16}$/i.test(parent)) return undefined;
  const found: SpanContext = {
    traceId: `${root[1]}${root[2]}`.toLowerCase(),
    spanId: parent.toLowerCase(),
    traceFlags: fields.get('Sampled') === '1' ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  };
  return isSpanContextValid(found) ? found : undefined;
}

/**
 * The SDK's warnings and errors as warn lines of ours, at most one per DIAG_LOG_INTERVAL_MS with
 * the count of those left out, so a collector that is down says so without flooding the log.
 */
export function limitedDiagLogger(logger: Logger, now: () => number = Date.now): DiagLogger {
  let last = -Infinity;
  let suppressed = 0;
  const warn = (message: string, ...args: unknown[]): void => {
    if (now() - last < DIAG_LOG_INTERVAL_MS) {
      suppressed += 1;
      return;
    }
    last = now();
    const detail = args.map((arg) => describeError(arg)).join('; ');
    logger.warn(
      // Not undefined-versus-absent: an empty detail and a zero count are left off the line.
      { ...(detail === '' ? {} : { detail }), ...(suppressed === 0 ? {} : { suppressed }) },
      `tracing: ${message}`,
    );
    suppressed = 0;
  };
  const ignore = (): void => {};
  return { error: warn, warn, info: ignore, debug: ignore, verbose: ignore };
}

function recordError(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.constructor.name : typeof error;
  span.setAttribute(ATTR_ERROR_TYPE, type);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
}

function defined(attributes: TraceAttributes): Attributes {
  const out: Attributes = {};
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) out[name] = value;
  return out;
}

/**
 * The active context kept in an AsyncLocalStorage, so it follows the handler across awaits (the
 * SDK's own StackContextManager loses it at the first await). What
 * @opentelemetry/context-async-hooks provides, in a few lines, without one more dependency.
 */
export class AsyncLocalContextManager implements ContextManager {
  #storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.apply(thisArg, args));
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (...args: unknown[]): unknown =>
      this.with(ctx, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#storage.disable();
    this.#storage = new AsyncLocalStorage<Context>();
    return this;
  }
}
