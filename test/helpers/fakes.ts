import type { Clock } from '../../src/core/clock.js';
import { ManualClock } from './manual-clock.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { IdempotencyService } from '../../src/core/idempotency.js';
import type { IdempotencyStore } from '../../src/core/idempotency-store.js';
import { silentLogger } from '../../src/core/logger.js';
import { decodeBody, type WorkerMessage } from '../../src/core/message.js';
import type { ReceivedMessage } from '../../src/core/queue.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import type { PipelineDeps } from '../../src/core/pipeline.js';

export { ManualClock } from './manual-clock.js';

export function message(
  key: string,
  body: unknown = { n: 1 },
  extra: Partial<WorkerMessage> = {},
): WorkerMessage {
  const rawBody = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    key,
    body: decodeBody(rawBody),
    rawBody,
    attributes: {},
    messageId: `id-${key}`,
    receiveCount: 1,
    groupId: undefined,
    sentAt: undefined,
    ...extra,
  };
}

/** A message as a queue hands it over (before toWorkerMessage): one first receive, nothing else. */
export function receivedMessage(extra: Partial<ReceivedMessage> = {}): ReceivedMessage {
  return {
    messageId: 'm-1',
    receiptHandle: 'r-1',
    body: '{}',
    attributes: {},
    receiveCount: 1,
    sentAt: undefined,
    firstReceivedAt: undefined,
    groupId: undefined,
    ...extra,
  };
}

export function service(
  store: IdempotencyStore = new MemoryIdempotencyStore(),
  clock: Clock = new ManualClock(),
  instanceId = 'test',
  cacheSize = 0,
): IdempotencyService {
  return new IdempotencyService({
    store,
    clock,
    namespace: 'q',
    instanceId,
    leaseMs: 30_000,
    retentionSeconds: 3600,
    cacheSize,
  });
}

export function pipelineDeps(
  idempotency: IdempotencyService,
  handler: PipelineDeps['handler'],
  clock: Clock,
): PipelineDeps {
  return {
    idempotency,
    handler,
    logger: silentLogger,
    signal: new AbortController().signal,
    now: () => clock.now(),
  };
}

/** The hot-path writes whose answer can be lost after they took effect. */
export type AmbiguousWrite = 'claim' | 'renew' | 'complete' | 'fail' | 'markDeadLettered';

/**
 * A store whose chosen writes are applied to the inner store and then answered ambiguously, as
 * DynamoDB does when a write lands and its answer is a 500 or comes after the request timeout:
 * `throw` applies the call and throws StoreUnavailableError (the caller retries, or not); `replay`
 * applies it, drops the answer and sends the same request again, answering what the second
 * attempt answers (the SDK's own retry). Each listed write is affected `times` times (default 1),
 * then passes through. `ambiguous` counts the calls answered so.
 */
export function ambiguousStore<S extends IdempotencyStore>(
  inner: S,
  mode: 'throw' | 'replay',
  writes: readonly AmbiguousWrite[],
  times = 1,
): S & { readonly ambiguous: number } {
  const left = new Map<PropertyKey, number>(writes.map((w) => [w, times]));
  let ambiguous = 0;
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'ambiguous') return ambiguous;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const call = (value as (...args: unknown[]) => Promise<unknown>).bind(target);
      if (!left.has(property)) return call;
      return async (...args: unknown[]) => {
        const remaining = left.get(property) ?? 0;
        if (remaining <= 0) return call(...args);
        left.set(property, remaining - 1);
        ambiguous += 1;
        await call(...args);
        if (mode === 'replay') return call(...args);
        throw new StoreUnavailableError(`${String(property)}: applied, then answered with an error`);
      };
    },
  }) as S & { readonly ambiguous: number };
}
