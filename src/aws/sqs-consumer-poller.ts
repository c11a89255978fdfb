import type { SQSClient } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import type { Clock } from '../core/clock.js';
import {
  ABORTED_POLL_SLACK_MS,
  failurePauseMs,
  type FailureBackoff,
  type MessageSource,
  type PollSink,
  type ReceiveGate,
  type RoomGate,
} from '../core/message-source.js';
import { reserveWholeBatch } from '../core/whole-batch.js';
import { RECEIVED_SYSTEM_ATTRIBUTES, toReceivedMessage } from './sqs-queue.js';

export interface SqsConsumerPollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly batchSize: number;
  readonly waitTimeSeconds: number;
  readonly visibilityTimeoutSeconds: number;
  readonly clock: Clock;
  readonly failureBackoff: FailureBackoff;
  /** How long a receive may wait for room for a full batch (default FULL_BATCH_WAIT_MS). */
  readonly fullBatchWaitMs?: number;
  /** Waited at before each receive: the store's circuit breaker (worker/store-gate.ts); default none. */
  readonly gate?: ReceiveGate;
  /** RECEIVE_CONCURRENCY: sqs-consumer Consumers, each with one receive in flight (default 1). */
  readonly concurrency?: number;
}

/**
 * Once some room is free, how long the next receive waits for room for a whole batch before it
 * asks for what fits. Handlers finish one by one, so without it most receives would ask for 1 to
 * 9 messages and cost a request each (0.11-0.12 receives per message instead of 0.10).
 */
export const FULL_BATCH_WAIT_MS = 100;

/** One Consumer: its receive loop and the room it holds for its next receive. */
interface Loop {
  consumer: Consumer | undefined;
  /** The room reserved for this loop's receives: its Consumer's batchSize; 0 while it has none. */
  reserved: number;
  /** When the receive under way was sent, on the monotonic clock. */
  pollStartedAt: number | undefined;
  failures: number;
  /** Resolves when the receive under way ends (answered, failed or aborted). */
  receiving: Promise<void> | undefined;
  endReceive: () => void;
}

/**
 * The receive loops on a real SQS queue: `concurrency` sqs-consumer Consumers sharing the runtime's
 * capacity, each used only through its documented options, events and methods. sqs-consumer has
 * no concurrency of its own (one Consumer: one receive at a time), and it reads `batchSize` when a
 * receive is built, so each loop reserves room (capacity.ts) before its receive and keeps its
 * Consumer's batchSize equal to that reservation: a receive asks for exactly the room it holds,
 * an empty or failed receive keeps it for the next, and a receive that returns messages gives it
 * back as it hands them over (handleMessageBatch), then reserves again and sets batchSize
 * (updateOption) before it returns. sqs-consumer never starts a receive before handleMessageBatch
 * has resolved. So the receives in flight and the messages held never pass MAX_IN_FLIGHT, and a
 * receive asks for a whole batch whenever one fits within FULL_BATCH_WAIT_MS.
 *
 * Before each receive a loop waits at the gate (preReceiveMessageCallback), if there is one.
 * Messages are settled by the runtime, not by sqs-consumer (shouldDeleteMessages: false). stop()
 * stops every Consumer, aborting the long polls in progress (stop({ abort: true })), and waits
 * for each receive to end.
 *
 * test/integration/sqs-consumer-poller.test.ts pins these guarantees against fauxqs, so an
 * upgrade of sqs-consumer that breaks one fails CI.
 */
export class SqsConsumerPoller implements MessageSource {
  readonly #o: SqsConsumerPollerOptions;
  #loops: Loop[] | undefined;
  #starting: Promise<void>[] = [];
  #capacity: RoomGate | undefined;
  #quietUntil = 0;
  #stopping = false;
  /** Ends a wait at the gate (or for room) when stop() is called. */
  readonly #stopped = new AbortController();

  constructor(options: SqsConsumerPollerOptions) {
    this.#o = options;
  }

  get quietUntil(): number {
    return this.#quietUntil;
  }

  /** The longest pause a loop takes before its next receive: 0, or the backoff after failures. */
  get pauseMs(): number {
    const most = Math.max(0, ...(this.#loops ?? []).map((l) => l.failures));
    return most === 0 ? 0 : failurePauseMs(most, this.#o.failureBackoff);
  }

  start(sink: PollSink): void {
    if (this.#loops || this.#stopping) return;
    const count = Math.max(1, this.#o.concurrency ?? 1);
    this.#capacity = sink.capacity;
    this.#loops = Array.from({ length: count }, () => newLoop());
    this.#starting = this.#loops.map((loop) => this.#startLoop(loop, sink));
  }

  /** Stops every loop: aborts the receives in progress and resolves once each has ended. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stopped.abort(new Error('poller stopped'));
    const loops = this.#loops ?? [];
    const started = loops.map((l) => l.pollStartedAt).filter((at) => at !== undefined);
    if (started.length > 0) {
      // Measured on the monotonic clock, told as epoch ms (MessageSource.quietUntil).
      const { clock } = this.#o;
      const leftMs =
        Math.max(...started) + this.#o.waitTimeSeconds * 1000 + ABORTED_POLL_SLACK_MS - clock.monotonic();
      this.#quietUntil = clock.now() + leftMs;
    }
    await Promise.all(this.#starting);
    await Promise.all(loops.map((loop) => stopLoop(loop)));
    for (const loop of loops) {
      this.#capacity?.unreserve(loop.reserved);
      loop.reserved = 0;
    }
  }

  /** Reserves the loop's first room, then creates and starts its Consumer with that batchSize. */
  async #startLoop(loop: Loop, sink: PollSink): Promise<void> {
    const first = await this.#reserve(sink.capacity);
    if (first <= 0) return;
    loop.reserved = first;
    const consumer = this.#consumer(loop, sink, first);
    consumer.on('empty', () => sink.empty());
    consumer.on('error', (error, message) => {
      if (message !== undefined) return;
      loop.endReceive();
      if (this.#stopping) return;
      loop.pollStartedAt = undefined;
      this.#failed(loop, consumer);
      sink.failed(error);
    });
    loop.consumer = consumer;
    consumer.start();
  }

  #consumer(loop: Loop, sink: PollSink, batchSize: number): Consumer {
    const consumer: Consumer = Consumer.create({
      queueUrl: this.#o.queueUrl,
      sqs: this.#o.sqs,
      batchSize,
      waitTimeSeconds: this.#o.waitTimeSeconds,
      visibilityTimeout: this.#o.visibilityTimeoutSeconds,
      messageSystemAttributeNames: RECEIVED_SYSTEM_ATTRIBUTES,
      messageAttributeNames: ['All'],
      shouldDeleteMessages: false,
      suppressFifoWarning: true,
      strictReturn: true,
      pollingWaitTimeMs: 0,
      preReceiveMessageCallback: async () => {
        // sqs-consumer awaits this before every ReceiveMessage: while the gate is shut, or the loop
        // holds no room (the capacity closed at shutdown), no receive is sent. After a stop the
        // receive goes out with the aborted signal and fails unsent.
        loop.receiving = new Promise((resolve) => (loop.endReceive = resolve));
        if (this.#o.gate?.paused) await this.#o.gate.whenReceiving(this.#stopped.signal);
        if (loop.reserved <= 0) await untilAborted(this.#stopped.signal);
        loop.pollStartedAt = this.#o.clock.monotonic();
      },
      postReceiveMessageCallback: async () => {
        loop.pollStartedAt = undefined;
        loop.endReceive();
        this.#recovered(loop, consumer);
        sink.succeeded();
      },
      handleMessageBatch: async (messages) => {
        // One synchronous step: the loop's room is given back as its messages are taken in.
        sink.capacity.unreserve(loop.reserved);
        loop.reserved = 0;
        sink.received(messages.map(toReceivedMessage));
        const next = await this.#reserve(sink.capacity);
        if (next <= 0) return [];
        loop.reserved = next;
        consumer.updateOption('batchSize', next);
        return [];
      },
    });
    return consumer;
  }

  /**
   * Reserves the room for a loop's next receive: a whole batch (`SQS_BATCH_SIZE`), waited for at
   * most fullBatchWaitMs once some room is free; then whatever fits. 0 once the capacity is
   * closed or the poller stopped (nothing is then held).
   */
  async #reserve(capacity: RoomGate): Promise<number> {
    const full = this.#o.batchSize;
    // Its listener goes when this reserve ends: one left per receive piled up on the poller's
    // signal (memory, and an add that walks them all: quadratic CPU over a long run).
    const listening = new AbortController();
    const stopped = untilAborted(this.#stopped.signal, listening.signal).then(() => 0);
    try {
      return await reserveWholeBatch({
        capacity,
        full,
        waitMs: this.#o.fullBatchWaitMs ?? FULL_BATCH_WAIT_MS,
        clock: this.#o.clock,
        stopping: () => this.#stopping,
        stopped,
      });
    } finally {
      listening.abort();
    }
  }

  /**
   * Backs off after every kind of receive failure, not only the ones sqs-consumer pauses on (it
   * pauses 10 s after its own connection codes, and not at all after a refused connection). The
   * new pause applies from the next failed receive on: sqs-consumer reads pollingWaitTimeMs when
   * a receive starts.
   */
  #failed(loop: Loop, consumer: Consumer): void {
    loop.failures += 1;
    consumer.updateOption('pollingWaitTimeMs', failurePauseMs(loop.failures, this.#o.failureBackoff));
  }

  #recovered(loop: Loop, consumer: Consumer): void {
    if (loop.failures === 0) return;
    loop.failures = 0;
    consumer.updateOption('pollingWaitTimeMs', 0);
  }
}

function newLoop(): Loop {
  return {
    consumer: undefined,
    reserved: 0,
    pollStartedAt: undefined,
    failures: 0,
    receiving: undefined,
    endReceive: () => {},
  };
}

/** Stops the loop's Consumer (aborting its receive) and waits for the receive to end. */
async function stopLoop(loop: Loop): Promise<void> {
  const { consumer } = loop;
  if (!consumer?.status.isRunning) return;
  const stopped = new Promise<void>((resolve) => consumer.once('stopped', () => resolve()));
  consumer.stop({ abort: true });
  await stopped;
  if (consumer.status.isPolling) await loop.receiving;
}

/** Resolves once `signal` aborts (at once if it has); its listener is removed once `until` aborts. */
function untilAborted(signal: AbortSignal, until?: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true, ...(until ? { signal: until } : {}) }),
  );
}
