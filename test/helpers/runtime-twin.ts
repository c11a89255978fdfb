import { jest } from '@jest/globals';
import { systemClock } from '../../src/core/clock.js';
import type { MessageEvent } from '../../src/core/events.js';
import type { Handler } from '../../src/core/handler.js';
import { IdempotencyService } from '../../src/core/idempotency.js';
import type { IdempotencyStore } from '../../src/core/idempotency-store.js';
import { silentLogger } from '../../src/core/logger.js';
import { MemoryIdempotencyStore } from '../../src/core/memory-store.js';
import { MemoryQueues, type MemoryQueue } from '../../src/core/memory-queue.js';
import type { MessageAttributes } from '../../src/core/queue.js';
import { QueuePoller } from '../../src/worker/poller.js';
import { WorkerRuntime, type RuntimeOptions } from '../../src/worker/runtime.js';

/**
 * The runtime on its in-memory twins: a MemoryQueue (with a dead-letter queue) and a
 * MemoryIdempotencyStore, on jest's fake timers, so every race and timeout is played out
 * deterministically in virtual time. Call `jest.useFakeTimers()` before building one.
 */
export interface Twin {
  readonly queue: MemoryQueue;
  readonly dlq: MemoryQueue;
  readonly store: MemoryIdempotencyStore;
  readonly runtime: WorkerRuntime;
  readonly settled: MessageEvent[];
  outcomes(): string[];
  send(messages: readonly TwinMessage[]): Promise<void>;
}

export interface TwinMessage {
  readonly body?: string;
  readonly key?: string;
  readonly groupId?: string;
}

export interface TwinOptions extends Partial<Omit<RuntimeOptions, 'queue' | 'source' | 'idempotency'>> {
  readonly fifo?: boolean;
  readonly batchSize?: number;
  readonly waitTimeSeconds?: number;
  readonly maxReceiveCount?: number;
  /** No dead-letter queue (no redrive policy). */
  readonly noDlq?: boolean;
  readonly store?: IdempotencyStore;
  readonly instanceId?: string;
}

export const VISIBILITY_SECONDS = 30;

export function twin(handler: Handler, options: TwinOptions = {}): Twin {
  const queues = new MemoryQueues();
  const suffix = options.fifo ? '.fifo' : '';
  const dlq = queues.create(`work-dlq${suffix}`);
  const queue = queues.create(`work${suffix}`, {
    visibilityTimeoutSeconds: VISIBILITY_SECONDS,
    ...(options.noDlq ? {} : { redrive: { deadLetter: dlq, maxReceiveCount: options.maxReceiveCount ?? 5 } }),
  });
  const store = new MemoryIdempotencyStore();
  const visibility = options.visibilityTimeoutSeconds ?? VISIBILITY_SECONDS;
  const idempotency = new IdempotencyService({
    store: options.store ?? store,
    clock: systemClock,
    namespace: 'work',
    instanceId: options.instanceId ?? 'a',
    leaseMs: visibility * 1000,
    retentionSeconds: 3600,
  });
  const source = new QueuePoller(queue, {
    batchSize: options.batchSize ?? 10,
    waitTimeSeconds: options.waitTimeSeconds ?? 20,
    visibilityTimeoutSeconds: visibility,
    clock: systemClock,
    failureBackoff: { baseMs: 1000, maxMs: 8000 },
  });
  const runtime = new WorkerRuntime({
    queue,
    deadLetters: options.noDlq ? undefined : dlq,
    source,
    idempotency,
    handler,
    logger: silentLogger,
    clock: systemClock,
    keyAttribute: 'IdempotencyKey',
    visibilityTimeoutSeconds: visibility,
    skewMs: 1000,
    maxInFlight: 50,
    handlerTimeoutMs: 0,
    backoff: { baseMs: 1000, maxMs: 60_000 },
    random: () => 1,
    ...options,
  } as RuntimeOptions);
  const settled: MessageEvent[] = [];
  runtime.on('message_settled', (event) => settled.push(event));
  let sent = 0;
  return {
    queue,
    dlq,
    store,
    runtime,
    settled,
    outcomes: () => settled.map((e) => e.processed.outcome),
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

/** Resolves when the signal aborts: a handler that waits for its AbortSignal. */
export function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}
