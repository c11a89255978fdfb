import type { Clock } from '../../src/core/clock.js';
import { IdempotencyService } from '../../src/core/idempotency.js';
import type { IdempotencyStore } from '../../src/core/idempotency-store.js';
import { silentLogger } from '../../src/core/logger.js';
import { decodeBody, type WorkerMessage } from '../../src/core/message.js';
import type { ReceivedMessage } from '../../src/core/queue.js';
import { MemoryIdempotencyStore } from '../../src/core/memory-store.js';
import type { PipelineDeps } from '../../src/core/pipeline.js';

/**
 * A clock tests move by hand. advance() moves wall and monotonic time together (time passing);
 * stepWall() moves only the wall clock (NTP or an operator stepping it), as a real one can.
 */
export class ManualClock implements Clock {
  #mono = 0;
  constructor(private time = 1_750_000_000_000) {}
  now(): number {
    return this.time;
  }
  monotonic(): number {
    return this.#mono;
  }
  advance(ms: number): void {
    this.time += ms;
    this.#mono += ms;
  }
  stepWall(ms: number): void {
    this.time += ms;
  }
}

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
