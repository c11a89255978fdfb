/**
 * The testing entry: in-memory twins of the worker's two ports, for your own tests. They hold
 * nothing across processes: never use them in production.
 *
 *   import { createWorker } from 'sqs-idempotent-worker';
 *   import { MemoryIdempotencyStore } from 'sqs-idempotent-worker/testing';
 *   const store = new MemoryIdempotencyStore();
 *   const worker = createWorker({ handler, overrides: { store } }); // claims kept in memory
 *
 * MemoryIdempotencyStore has the DynamoDB store's semantics (conditional claims, fencing, leases,
 * retention); MemoryQueue has SQS's (visibility timeouts, receive counts, redrive, FIFO groups,
 * SQS's error codes) on an injectable clock. The worker's own tests run one contract suite on each
 * twin and on the real emulators.
 */
export { MemoryIdempotencyStore } from './memory-store.js';
export { MemoryQueue, MemoryQueues, QueueError } from './memory-queue.js';
export type {
  Interceptor,
  MemoryQueueOptions,
  QueueOperation,
  QueueOperationArgs,
  StoredMessage,
} from './memory-queue.js';
