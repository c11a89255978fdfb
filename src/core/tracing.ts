import type { ReceivedMessage } from './queue.js';
import type { Reason } from './reasons.js';

/**
 * Tracing as the worker needs it, as a port: one span per delivery, linked to the producer's trace
 * context the message carries, with a child span for each step. The OpenTelemetry implementation
 * (observability/otel.ts) is loaded only when tracing is configured; otherwise `noTracing` stands
 * in, and a delivery costs one call that returns a shared constant and a direct call per step.
 *
 *   process <queue> (CONSUMER, linked to the producer's span)
 *     ├─ claim     (once per claim attempt)
 *     ├─ handler   (the active context while the handler runs: its own spans nest under it)
 *     └─ settle    (delete, release or dead-letter)
 */

/** The steps of a delivery that get their own span. */
export type TraceStep = 'claim' | 'handler' | 'settle';

/** Attribute values a step or a delivery may carry. */
export type TraceAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** How a delivery ended: the `Processed` result's outcome, action and reason. */
export interface DeliveryEnd {
  readonly outcome: string;
  readonly action: string;
  readonly reason?: Reason;
  /** What the handler (or the worker's own code) threw, recorded on the span. */
  readonly error?: unknown;
}

/** The span of one delivery. */
export interface DeliveryTrace {
  /**
   * Runs `work` in a child span named after the step, with that span as the active context.
   * A rejection is recorded on the span and passed on; `describe` adds attributes from the result.
   */
  step<T>(name: TraceStep, work: () => Promise<T>, describe?: (result: T) => TraceAttributes): Promise<T>;
  /** Sets the outcome and reason (and the error, if any) and ends the span. Call once. */
  end(result: DeliveryEnd): void;
}

/** What the tracer reads from a delivery. */
export interface TracedDelivery {
  readonly received: ReceivedMessage;
  /**
   * The message's string attributes as the handler sees them (an SNS envelope's merged in), where
   * the producer's `traceparent` and `tracestate` are looked for.
   */
  readonly attributes: Readonly<Record<string, string>>;
  /** The idempotency key. */
  readonly key: string;
  /** The queue's name (`messaging.destination.name`). */
  readonly destination: string;
}

export interface Tracing {
  /** False for `noTracing`: callers may skip work that only feeds spans. */
  readonly enabled: boolean;
  /** Starts the span of one delivery, now. */
  startDelivery(delivery: TracedDelivery): DeliveryTrace;
  /**
   * Runs `send` in a PRODUCER span for `destination` and hands it the message attributes that
   * carry that span's context (W3C `traceparent`, and `tracestate` when there is one); `noTracing`
   * hands it none.
   */
  produce<T>(
    destination: string,
    send: (attributes: Readonly<Record<string, string>>) => Promise<T>,
  ): Promise<T>;
  /** Exports what is buffered and stops; resolves within `timeoutMs`, whatever the collector does. */
  shutdown(timeoutMs: number): Promise<void>;
}

const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});

const noDelivery: DeliveryTrace = {
  step: (_name, work) => work(),
  end: () => {},
};

/** Tracing off: no spans, no attributes, nothing loaded. */
export const noTracing: Tracing = {
  enabled: false,
  startDelivery: () => noDelivery,
  produce: (_destination, send) => send(NO_ATTRIBUTES),
  shutdown: async () => {},
};

/** The queue's name from its URL (the last path segment). */
export function queueNameOf(queueUrl: string): string {
  const slash = queueUrl.lastIndexOf('/');
  return slash === -1 ? queueUrl : queueUrl.slice(slash + 1);
}
