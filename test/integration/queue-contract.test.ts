import { MemoryQueues } from '../../src/testing/memory-queue.js';
import { createQueuePair } from '../../src/aws/queues.js';
import { SqsQueue } from '../../src/aws/sqs-queue.js';
import { startTestAws } from '../helpers/aws.js';
import { describeQueueContract } from '../helpers/queue-contract.js';

describeQueueContract('MemoryQueue', async () => {
  const broker = new MemoryQueues();
  return {
    async pair(name, options) {
      const fifo = name.endsWith('.fifo');
      const dlq = broker.create(fifo ? `${name.slice(0, -5)}-dlq.fifo` : `${name}-dlq`);
      const queue = broker.create(name, {
        visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
        redrive: { deadLetter: dlq, maxReceiveCount: options.maxReceiveCount },
      });
      return { queue, dlq };
    },
    close: async () => undefined,
  };
});

// fauxqs differs from SQS on receipt handles it never issued, and on the code for a stale handle.
describeQueueContract(
  'SqsQueue on fauxqs (in-process, random port)',
  async () => {
    const aws = await startTestAws();
    return {
      async pair(name, options) {
        const urls = await createQueuePair(aws.sqs, name, options);
        return { queue: new SqsQueue(aws.sqs, urls.queueUrl), dlq: new SqsQueue(aws.sqs, urls.dlqUrl) };
      },
      close: () => aws.close(),
    };
  },
  {
    deleteAcceptsUnknownHandles: true,
    unknownHandleVisibilityError: 'MessageNotInflight',
    staleHandleVisibilityError: 'MessageNotInflight',
  },
);
