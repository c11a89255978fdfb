import type { SQSClient } from '@aws-sdk/client-sqs';
import { SqsConsumerPoller, type SqsConsumerPollerOptions } from '../../src/aws/sqs-consumer-poller.js';
import { systemClock } from '../../src/core/clock.js';
import type { ReceivedMessage } from '../../src/core/queue.js';
import type { Capacity } from '../../src/worker/capacity.js';

/** The SQS poller of the wire tests: batches of 10, 1 s long polls, the system clock; `options` over it. */
export function testPoller(
  sqs: SQSClient,
  queueUrl: string,
  options: Partial<SqsConsumerPollerOptions> = {},
): SqsConsumerPoller {
  return new SqsConsumerPoller({
    sqs,
    queueUrl,
    batchSize: 10,
    waitTimeSeconds: 1,
    visibilityTimeoutSeconds: 30,
    clock: systemClock,
    failureBackoff: { baseMs: 1000, maxMs: 1000 },
    ...options,
  });
}

/**
 * Starts `source` with a sink that takes a slot per message received and holds the messages
 * (returned, in order); `onBatch` sees each receive's messages.
 */
export function startHolding(
  source: SqsConsumerPoller,
  capacity: Capacity,
  onBatch: (messages: readonly ReceivedMessage[]) => void = () => {},
): ReceivedMessage[] {
  const held: ReceivedMessage[] = [];
  source.start({
    capacity,
    received: (messages) => {
      capacity.take(messages.length);
      held.push(...messages);
      onBatch(messages);
    },
    succeeded: () => {},
    empty: () => {},
    failed: () => {},
  });
  return held;
}
