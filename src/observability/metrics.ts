import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Outcome } from '../core/pipeline.js';
import { REASONS, REASON_CODES } from '../core/reasons.js';

/** Every value of the outcome label, so each series exists (at 0) from the first scrape. */
export const OUTCOMES = [
  'success',
  'duplicate',
  'retry',
  'dead_lettered',
  'lease_lost',
  'payload_mismatch',
] as const satisfies readonly Outcome[];

// Fails to compile when core adds an outcome that is missing above.
const everyOutcomeListed: Exclude<Outcome, (typeof OUTCOMES)[number]> extends never ? true : never = true;
void everyOutcomeListed;

/** Values of parked_without_dlq_total's reason label: the codes that dead-letter at once. */
export const PARKING_REASONS = [
  ...REASON_CODES.filter((code) => REASONS[code].then === 'dead-lettered at once'),
  'INTERNAL_ERROR',
] as const;

/** Values of poll_errors_total's reason label (see pollErrorReason in observe.ts). */
export const POLL_ERROR_REASONS = ['auth', 'queue_missing', 'network', 'throttled', 'other'] as const;

/**
 * prom-client's default gauges that `promtool check metrics` rejects (a gauge must not end in
 * `_total`). They are sums of `nodejs_active_{handles,requests,resources}`, which stay.
 */
export const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

export interface Metrics {
  readonly registry: Registry;
  readonly messagesReceived: Counter;
  readonly messagesProcessed: Counter<'outcome'>;
  readonly handlerDuration: Histogram<'outcome'>;
  readonly messagesInFlight: Gauge;
  readonly messageAge: Histogram;
  readonly receiveCount: Histogram;
  readonly storeDuration: Histogram<'operation' | 'outcome'>;
  readonly sqsRequests: Counter<'operation' | 'outcome'>;
  readonly pollErrors: Counter<'reason'>;
  readonly lastPoll: Gauge;
  readonly queueMessages: Gauge<'queue' | 'state'>;
  readonly settleErrors: Counter<'operation'>;
  readonly heartbeatFailures: Counter<'reason'>;
  /** Permanent failures parked for 12 hours because the queue has no dead-letter queue. */
  readonly parkedWithoutDlq: Counter<'reason'>;
  /** 1 while receiving is paused because the idempotency store fails (the circuit is open). */
  readonly storeCircuitOpen: Gauge;
  /** Times receiving was paused because the idempotency store failed. */
  readonly storeCircuitOpenings: Counter;
  /** The in-flight gauge reads this at scrape time (the runtime's own count, never a drifting copy). */
  setInFlightSource(read: () => number): void;
}

/** Every metric the worker exports, on its own registry (never the global one). Base units throughout. */
export function createMetrics(version: string, registry: Registry = new Registry()): Metrics {
  collectDefaultMetrics({ register: registry });
  for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  const on = { registers: [registry] };
  new Gauge({
    name: 'sqs_worker_build_info',
    help: 'Always 1; the version label says which build runs.',
    labelNames: ['version'],
    ...on,
  }).set({ version }, 1);
  let inFlight: () => number = () => 0;
  const metrics: Metrics = {
    registry,
    ...messageMetrics(on),
    messagesInFlight: new Gauge({
      name: 'sqs_worker_messages_in_flight',
      help: 'Messages received and not yet settled.',
      collect() {
        this.set(inFlight());
      },
      ...on,
    }),
    ...awsMetrics(on),
    setInFlightSource(read) {
      inFlight = read;
    },
  };
  for (const outcome of OUTCOMES) {
    metrics.messagesProcessed.inc({ outcome }, 0);
    metrics.handlerDuration.zero({ outcome });
  }
  for (const reason of POLL_ERROR_REASONS) metrics.pollErrors.inc({ reason }, 0);
  for (const reason of ['lease_lost', 'error']) metrics.heartbeatFailures.inc({ reason }, 0);
  // Every reason a message can be dead-lettered (parked) with, at 0, so that the first parking is
  // an increase (the alert's `increase()` does not count a series' first sample).
  for (const reason of PARKING_REASONS) metrics.parkedWithoutDlq.inc({ reason }, 0);
  return metrics;
}

type On = { registers: Registry[] };

function messageMetrics(on: On) {
  return {
    messagesReceived: new Counter({
      name: 'sqs_worker_messages_received_total',
      help: 'Messages received from the queue (each delivery counts).',
      ...on,
    }),
    messagesProcessed: new Counter<'outcome'>({
      name: 'sqs_worker_messages_processed_total',
      help: 'Deliveries settled, by outcome (success, duplicate, retry, dead_lettered, lease_lost, payload_mismatch).',
      labelNames: ['outcome'],
      ...on,
    }),
    handlerDuration: new Histogram<'outcome'>({
      name: 'sqs_worker_handler_duration_seconds',
      help: 'Time spent in the handler, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      ...on,
    }),
    messageAge: new Histogram({
      name: 'sqs_worker_message_age_seconds',
      help: 'Time from SentTimestamp to receipt by the worker.',
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 21600, 86400],
      ...on,
    }),
    receiveCount: new Histogram({
      name: 'sqs_worker_receive_count',
      help: 'ApproximateReceiveCount of each received message (1 on its first delivery).',
      buckets: [1, 2, 3, 5, 10, 20, 50],
      ...on,
    }),
    settleErrors: new Counter<'operation'>({
      name: 'sqs_worker_settle_errors_total',
      help: 'SQS calls after handling (delete, release, dead_letter) that failed, by operation.',
      labelNames: ['operation'],
      ...on,
    }),
    heartbeatFailures: new Counter<'reason'>({
      name: 'sqs_worker_heartbeat_failures_total',
      help: 'Heartbeats (visibility extension and lease renewal) that failed, by reason (lease_lost, error).',
      labelNames: ['reason'],
      ...on,
    }),
    parkedWithoutDlq: new Counter<'reason'>({
      name: 'sqs_worker_parked_without_dlq_total',
      help: 'Permanent failures that could not be dead-lettered (the queue has no redrive policy) and were parked for 12 hours, by the reason code they would have been dead-lettered with.',
      labelNames: ['reason'],
      ...on,
    }),
  };
}

function awsMetrics(on: On) {
  return {
    storeDuration: new Histogram<'operation' | 'outcome'>({
      name: 'sqs_worker_idempotency_store_duration_seconds',
      help: 'Idempotency store calls, by operation (claim, renew, complete, fail, get, list, clear) and outcome.',
      labelNames: ['operation', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      ...on,
    }),
    sqsRequests: new Counter<'operation' | 'outcome'>({
      name: 'sqs_worker_sqs_requests_total',
      help: 'SQS API calls made by the worker, by operation and outcome (success, error, aborted).',
      labelNames: ['operation', 'outcome'],
      ...on,
    }),
    pollErrors: new Counter<'reason'>({
      name: 'sqs_worker_poll_errors_total',
      help: 'ReceiveMessage calls that failed, by reason (auth, queue_missing, network, throttled, other).',
      labelNames: ['reason'],
      ...on,
    }),
    storeCircuitOpen: new Gauge({
      name: 'sqs_worker_store_circuit_open',
      help: '1 while receiving is paused because the idempotency store fails (circuit breaker open), else 0.',
      ...on,
    }),
    storeCircuitOpenings: new Counter({
      name: 'sqs_worker_store_circuit_openings_total',
      help: 'Times receiving was paused because idempotency store calls failed in a row.',
      ...on,
    }),
    lastPoll: new Gauge({
      name: 'sqs_worker_last_poll_timestamp_seconds',
      help: 'Unix time of the last successful ReceiveMessage; 0 before the first.',
      ...on,
    }),
    queueMessages: new Gauge<'queue' | 'state'>({
      name: 'sqs_worker_queue_messages',
      help: 'Approximate messages in the queue (queue="main") and its dead-letter queue (queue="dlq"), by state (visible, in_flight, delayed), from GetQueueAttributes.',
      labelNames: ['queue', 'state'],
      ...on,
    }),
  };
}
