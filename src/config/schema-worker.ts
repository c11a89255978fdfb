import { durationOrZero, env, group, int, maybe } from './leaves.js';

/**
 * The worker's runtime: how many messages at once, how many receives, the drain on shutdown and
 * the backoff of retries.
 * Part of the one config schema (schema.ts), which lists the fields in the documented order.
 */
export const workerFields = {
  maxInFlight: env('MAX_IN_FLIGHT', int(1, 1000), {
    default: '50',
    description:
      'Messages handled at once (received, handler not yet returned); no receive starts while this many are in flight. A message whose handler has returned and that waits only for its complete and delete gives its room back, with at most twice MAX_IN_FLIGHT such messages settling at once.',
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
};
