import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly messagesReceived: Counter;
  readonly messagesProcessed: Counter<'outcome'>;
  readonly handlerDuration: Histogram<'outcome'>;
  readonly messagesInFlight: Gauge;
  readonly pollErrors: Counter<'reason'>;
  readonly lastPoll: Gauge;
  readonly settleErrors: Counter<'operation'>;
}

/** Every metric the worker exports, on its own registry (never the global one). */
export function createMetrics(version: string): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({
    name: 'sqs_worker_build_info',
    help: 'Always 1; the version label says which build runs.',
    labelNames: ['version'],
    registers: [registry],
  });
  buildInfo.set({ version }, 1);
  return {
    registry,
    messagesReceived: new Counter({
      name: 'sqs_worker_messages_received_total',
      help: 'Messages received from the queue.',
      registers: [registry],
    }),
    messagesProcessed: new Counter({
      name: 'sqs_worker_messages_processed_total',
      help: 'Deliveries settled, by outcome (success, duplicate, retry, dead_lettered, lease_lost, payload_mismatch).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    handlerDuration: new Histogram({
      name: 'sqs_worker_handler_duration_seconds',
      help: 'Time spent in the handler, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    messagesInFlight: new Gauge({
      name: 'sqs_worker_messages_in_flight',
      help: 'Messages received and not yet settled.',
      registers: [registry],
    }),
    pollErrors: new Counter({
      name: 'sqs_worker_poll_errors_total',
      help: 'ReceiveMessage calls that failed, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    lastPoll: new Gauge({
      name: 'sqs_worker_last_poll_timestamp_seconds',
      help: 'Unix time of the last successful ReceiveMessage.',
      registers: [registry],
    }),
    settleErrors: new Counter({
      name: 'sqs_worker_settle_errors_total',
      help: 'SQS calls after handling (delete, release, dead_letter) that failed, by operation.',
      labelNames: ['operation'],
      registers: [registry],
    }),
  };
}
