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
}

/**
 * Once some room is free, how long the next receive waits for room for a whole batch before it
 * asks for what fits. Handlers finish one by one, so without it most receives would ask for 1 to
 * 9 messages and cost a request each (0.11-0.12 receives per message instead of 0.10).
 */
export const FULL_BATCH_WAIT_MS = 100;
/** How often the room is looked at meanwhile (the room gate wakes only its empty-room waiters). */
const ROOM_CHECK_MS = 5;

/**
 * The receive loop on a real SQS queue: sqs-consumer, used only through its documented options,
 * events and methods. It never starts a receive before `handleMessageBatch` has resolved, so the
 * handler hands the batch over, waits for room, and sets `batchSize` (updateOption) to that room
 * before it returns: every receive asks for at most what fits under MAX_IN_FLIGHT, and for a
 * whole batch whenever one fits within FULL_BATCH_WAIT_MS (fewer, fuller receives). Before each
 * receive it waits at the gate (preReceiveMessageCallback), if there is one. Messages are
 * settled by the runtime, not by sqs-consumer (shouldDeleteMessages: false). stop() aborts the
 * long poll in progress (stop({ abort: true })).
 *
 * test/integration/sqs-consumer-poller.test.ts pins both guarantees against fauxqs, so an upgrade
 * of sqs-consumer that breaks either fails CI.
 */
export class SqsConsumerPoller implements MessageSource {
  readonly #o: SqsConsumerPollerOptions;
  #consumer: Consumer | undefined;
  #pollStartedAt: number | undefined;
  #quietUntil = 0;
  #failures = 0;
  #stopping = false;
  /** Ends a wait at the gate when stop() is called. */
  readonly #stopped = new AbortController();

  constructor(options: SqsConsumerPollerOptions) {
    this.#o = options;
  }

  get quietUntil(): number {
    return this.#quietUntil;
  }

  /** The pause sqs-consumer takes before its next receive: 0, or the backoff after failures. */
  get pauseMs(): number {
    return this.#failures === 0 ? 0 : failurePauseMs(this.#failures, this.#o.failureBackoff);
  }

  start(sink: PollSink): void {
    const first = Math.min(this.#o.batchSize, sink.capacity.room);
    if (this.#consumer || first <= 0) return;
    const consumer = Consumer.create({
      queueUrl: this.#o.queueUrl,
      sqs: this.#o.sqs,
      batchSize: first,
      waitTimeSeconds: this.#o.waitTimeSeconds,
      visibilityTimeout: this.#o.visibilityTimeoutSeconds,
      messageSystemAttributeNames: RECEIVED_SYSTEM_ATTRIBUTES,
      messageAttributeNames: ['All'],
      shouldDeleteMessages: false,
      suppressFifoWarning: true,
      strictReturn: true,
      pollingWaitTimeMs: 0,
      preReceiveMessageCallback: async () => {
        // sqs-consumer awaits this before every ReceiveMessage: while the gate is shut no receive
        // is sent. After a stop the receive goes out with the aborted signal and fails unsent.
        if (this.#o.gate?.paused) await this.#o.gate.whenReceiving(this.#stopped.signal);
        this.#pollStartedAt = this.#o.clock.now();
      },
      postReceiveMessageCallback: async () => {
        this.#pollStartedAt = undefined;
        this.#recovered(consumer);
        sink.succeeded();
      },
      handleMessageBatch: async (messages) => {
        sink.received(messages.map(toReceivedMessage));
        const room = await this.#roomForBatch(sink.capacity, first);
        if (room > 0) consumer.updateOption('batchSize', room);
        return [];
      },
    });
    consumer.on('empty', () => sink.empty());
    consumer.on('error', (error, message) => {
      if (message !== undefined || this.#stopping) return;
      this.#pollStartedAt = undefined;
      this.#failed(consumer);
      sink.failed(error);
    });
    this.#consumer = consumer;
    consumer.start();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stopped.abort(new Error('poller stopped'));
    const consumer = this.#consumer;
    if (!consumer?.status.isRunning) return;
    if (this.#pollStartedAt !== undefined) {
      this.#quietUntil = this.#pollStartedAt + this.#o.waitTimeSeconds * 1000 + ABORTED_POLL_SLACK_MS;
    }
    const stopped = new Promise<void>((resolve) => consumer.once('stopped', () => resolve()));
    consumer.stop({ abort: true });
    await stopped;
  }

  /**
   * The size of the next receive: room for a whole batch (`full`: SQS_BATCH_SIZE, or
   * MAX_IN_FLIGHT when smaller), waited for at most fullBatchWaitMs once some room is free; then
   * whatever fits. 0 once the gate is closed.
   */
  async #roomForBatch(capacity: RoomGate, full: number): Promise<number> {
    let room = await capacity.waitForRoom();
    const waitMs = this.#o.fullBatchWaitMs ?? FULL_BATCH_WAIT_MS;
    // An interval: on the monotonic clock, which no step of the wall clock stretches or cuts.
    const { clock } = this.#o;
    const until = clock.monotonic() + waitMs;
    while (room > 0 && room < full && !this.#stopping && clock.monotonic() < until) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(ROOM_CHECK_MS, waitMs)));
      room = capacity.room;
    }
    return Math.min(full, room);
  }

  /**
   * Backs off after every kind of receive failure, not only the ones sqs-consumer pauses on (it
   * pauses 10 s after its own connection codes, and not at all after a refused connection). The
   * new pause applies from the next failed receive on: sqs-consumer reads pollingWaitTimeMs when
   * a receive starts.
   */
  #failed(consumer: Consumer): void {
    this.#failures += 1;
    consumer.updateOption('pollingWaitTimeMs', failurePauseMs(this.#failures, this.#o.failureBackoff));
  }

  #recovered(consumer: Consumer): void {
    if (this.#failures === 0) return;
    this.#failures = 0;
    consumer.updateOption('pollingWaitTimeMs', 0);
  }
}
