import { jest } from '@jest/globals';
import { systemClock, type Clock } from '../../src/core/clock.js';
import type { MessageEvent } from '../../src/core/events.js';
import type { Handler } from '../../src/core/handler.js';
import { IdempotencyService } from '../../src/core/idempotency.js';
import type { IdempotencyStore } from '../../src/core/idempotency-store.js';
import { silentLogger } from '../../src/core/logger.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { MemoryQueues, type MemoryQueue } from '../../src/testing/memory-queue.js';
import type { MessageAttributes, Queue } from '../../src/core/queue.js';
import { BatchingQueue } from '../../src/worker/batching-queue.js';
import { QueuePoller } from './queue-poller.js';
import { WorkerRuntime, type RuntimeOptions } from '../../src/worker/runtime.js';
import type { StoreCircuit } from '../../src/worker/store-gate.js';

/**
 * The runtime on its in-memory twins: a MemoryQueue (with a dead-letter queue) and a
 * MemoryIdempotencyStore, on jest's fake timers, so every race and timeout is played out
 * deterministically in virtual time. Call `jest.useFakeTimers()` before building one.
 *
 * A `World` is the shared queue and store; any number of workers run on it, each with its own
 * clock (skew), its own view of the queue and store (wrap them to inject faults), and its events.
 */
export interface World {
  readonly queue: MemoryQueue;
  readonly dlq: MemoryQueue;
  readonly store: MemoryIdempotencyStore;
  send(messages: readonly TwinMessage[]): Promise<void>;
}

export interface TwinMessage {
  readonly body?: string;
  readonly key?: string;
  readonly groupId?: string;
}

export interface Worker {
  readonly runtime: WorkerRuntime;
  readonly settled: MessageEvent[];
  outcomes(): string[];
}

export interface Twin extends World, Worker {}

export interface WorldOptions {
  readonly fifo?: boolean | undefined;
  readonly maxReceiveCount?: number | undefined;
  /** No dead-letter queue (no redrive policy). */
  readonly noDlq?: boolean | undefined;
  readonly visibilityTimeoutSeconds?: number | undefined;
}

export interface WorkerOptions extends Partial<Omit<RuntimeOptions, 'source' | 'idempotency'>> {
  readonly batchSize?: number;
  readonly waitTimeSeconds?: number;
  /** RECEIVE_CONCURRENCY: receive loops sharing the capacity (default 1). */
  readonly receiveConcurrency?: number;
  readonly instanceId?: string;
  /** This worker's view of the store (default: the world's). */
  readonly store?: IdempotencyStore;
  /** This worker's clock runs ahead by this much (ms). */
  readonly skewAheadMs?: number;
  readonly retentionSeconds?: number;
  /** Completed keys remembered in memory (default 0: none). */
  readonly cacheSize?: number;
  /** Batch deletes and visibility changes (BatchingQueue) with this flush delay. */
  readonly batchFlushMs?: number;
  /** The store's circuit breaker: it watches this worker's store and gates its receives. */
  readonly circuit?: StoreCircuit;
}

export const VISIBILITY_SECONDS = 30;

export function world(options: WorldOptions = {}): World {
  const queues = new MemoryQueues();
  const suffix = options.fifo ? '.fifo' : '';
  const dlq = queues.create(`work-dlq${suffix}`);
  const queue = queues.create(`work${suffix}`, {
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? VISIBILITY_SECONDS,
    redrive: options.noDlq ? undefined : { deadLetter: dlq, maxReceiveCount: options.maxReceiveCount ?? 5 },
  });
  const store = new MemoryIdempotencyStore();
  let sent = 0;
  return {
    queue,
    dlq,
    store,
    async send(messages) {
      for (const m of messages) {
        sent += 1;
        const attributes: MessageAttributes = m.key
          ? { IdempotencyKey: { dataType: 'String', stringValue: m.key } }
          : {};
        await queue.send({
          body: m.body ?? JSON.stringify({ n: sent }),
          attributes,
          ...(m.groupId ? { groupId: m.groupId, deduplicationId: `d${sent}` } : {}),
        });
      }
    },
  };
}

/** A worker on the world: its own idempotency service, poller and runtime. */
export function worker(w: World, handler: Handler, options: WorkerOptions = {}): Worker {
  const {
    skewAheadMs = 0,
    store,
    instanceId,
    retentionSeconds,
    batchSize,
    waitTimeSeconds,
    receiveConcurrency,
    cacheSize,
    batchFlushMs,
    circuit,
    ...rest
  } = options;
  // jest's fake timers move performance.now() with timers but not with setSystemTime(): a test
  // steps a worker's wall clock apart from its monotonic one with jest.setSystemTime().
  const clock: Clock = {
    ...systemClock,
    now: () => Date.now() + skewAheadMs,
    monotonic: () => performance.now(),
  };
  const visibility = options.visibilityTimeoutSeconds ?? VISIBILITY_SECONDS;
  const plain: Queue = options.queue ?? w.queue;
  const queue = batchFlushMs === undefined ? plain : new BatchingQueue(plain, batchFlushMs);
  const view = store ?? w.store;
  const idempotency = new IdempotencyService({
    store: circuit ? circuit.watch(view) : view,
    clock,
    namespace: 'work',
    instanceId: instanceId ?? 'a',
    leaseMs: visibility * 1000,
    retentionSeconds: retentionSeconds ?? 3600,
    cacheSize: cacheSize ?? 0,
  });
  const source = new QueuePoller(plain, {
    batchSize: batchSize ?? 10,
    waitTimeSeconds: waitTimeSeconds ?? 20,
    visibilityTimeoutSeconds: visibility,
    clock,
    failureBackoff: { baseMs: 1000, maxMs: 8000 },
    gate: circuit,
    concurrency: receiveConcurrency,
  });
  const runtime = new WorkerRuntime({
    deadLetters: w.dlq,
    source,
    idempotency,
    handler,
    logger: silentLogger,
    clock,
    keyAttribute: 'IdempotencyKey',
    visibilityTimeoutSeconds: visibility,
    skewMs: 1000,
    maxInFlight: 50,
    handlerTimeoutMs: 0,
    backoff: { baseMs: 1000, maxMs: 60_000 },
    random: () => 1,
    ...rest,
    queue,
  });
  const settled: MessageEvent[] = [];
  runtime.on('message_settled', (event) => settled.push(event));
  return { runtime, settled, outcomes: () => settled.map((e) => e.processed.outcome) };
}

/** One world and one worker on it. */
export function twin(handler: Handler, options: WorkerOptions & WorldOptions = {}): Twin {
  const { fifo, maxReceiveCount, noDlq, ...workerOptions } = options;
  const w = world({ fifo, maxReceiveCount, noDlq });
  const one = worker(w, handler, {
    ...workerOptions,
    // Present and undefined: it wins over worker()'s default, the world's dead-letter queue.
    ...(noDlq ? { deadLetters: undefined } : {}),
  });
  return { ...w, ...one };
}

/**
 * Moves fake time in small steps until `predicate` holds; fails after `limitMs` of virtual time.
 * Deterministic: nothing here depends on how fast the machine is.
 */
export async function until(predicate: () => boolean, what: string, limitMs = 600_000): Promise<void> {
  for (let waited = 0; !predicate(); waited += 50) {
    if (waited > limitMs) throw new Error(`not within ${limitMs} ms of virtual time: ${what}`);
    await jest.advanceTimersByTimeAsync(50);
  }
}

/** A promise the test resolves by hand: a handler that finishes when told to. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Rejects when the signal aborts: a handler that waits for its AbortSignal. */
export function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

/** Resolves after `ms` of (fake) time. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
