import { durationOrZero, env, httpUrl, int, maybe } from './leaves.js';

/**
 * The queue: which one, how it is polled, how long a received message stays hidden, how
 * deletes and visibility changes are batched, and when SQS dead-letters a message.
 * Part of the one config schema (schema.ts), which lists the fields in the documented order.
 */
export const sqsFields = {
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
  maxReceiveCount: env('MAX_RECEIVE_COUNT', int(1, 1000), {
    default: '5',
    description:
      'Embedded mode and `queue create`: receives before SQS moves a message to the dead-letter queue.',
  }),
};
