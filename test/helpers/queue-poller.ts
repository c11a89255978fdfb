import type { Clock } from '../../src/core/clock.js';
import type { Queue, ReceivedMessage } from '../../src/core/queue.js';
import {
  ABORTED_POLL_SLACK_MS,
  failurePauseMs,
  type FailureBackoff,
  type MessageSource,
  type PollSink,
  type ReceiveGate,
} from '../../src/core/message-source.js';

export interface PollerOptions {
  readonly batchSize: number;
  readonly waitTimeSeconds: number;
  readonly visibilityTimeoutSeconds: number;
  readonly clock: Clock;
  /** Pause after a failed receive: base * 2^(failures-1), at most max. */
  readonly failureBackoff: FailureBackoff;
  /** Waited at before each receive: the store's circuit breaker (store-gate.ts); default none. */
  readonly gate?: ReceiveGate | undefined;
  /** RECEIVE_CONCURRENCY: receive loops sharing the runtime's capacity (default 1). */
  readonly concurrency?: number | undefined;
}

/**
 * The test runtime's MessageSource (runtime-twin.ts; production receives with
 * aws/sqs-consumer-poller.ts). Receive loops over any Queue, `concurrency` of them sharing one
 * capacity: each waits for the gate, reserves room (capacity.ts), receives at most that much,
 * gives the reservation back as it hands the messages over, repeats.
 */
export class QueuePoller implements MessageSource {
  readonly #queue: Queue;
  readonly #o: PollerOptions;
  readonly #abort = new AbortController();
  #loops: Promise<void>[] | undefined;
  /** When each receive under way started (epoch ms). */
  readonly #pollsStartedAt = new Set<{ readonly at: number }>();
  #quietUntil = 0;

  constructor(queue: Queue, options: PollerOptions) {
    this.#queue = queue;
    this.#o = options;
  }

  get quietUntil(): number {
    return this.#quietUntil;
  }

  start(sink: PollSink): void {
    const count = Math.max(1, this.#o.concurrency ?? 1);
    this.#loops ??= Array.from({ length: count }, () => this.#run(sink));
  }

  /** Aborts every receive under way and resolves once every loop has ended. */
  async stop(): Promise<void> {
    const latest = Math.max(...[...this.#pollsStartedAt].map(({ at }) => at));
    if (this.#pollsStartedAt.size > 0) {
      this.#quietUntil = latest + this.#o.waitTimeSeconds * 1000 + ABORTED_POLL_SLACK_MS;
    }
    this.#abort.abort(new Error('poller stopped'));
    await Promise.all(this.#loops ?? []);
  }

  async #run(sink: PollSink): Promise<void> {
    const signal = this.#abort.signal;
    const { capacity } = sink;
    let failures = 0;
    while (!signal.aborted) {
      const room = await capacity.waitForRoom();
      if (room <= 0 || signal.aborted) return;
      if (this.#o.gate?.paused) {
        // Room can only grow meanwhile; it is asked for again once the gate lets receives start.
        await this.#o.gate.whenReceiving(signal);
        continue;
      }
      const reserved = await capacity.reserve(this.#o.batchSize);
      if (reserved <= 0) return;
      if (signal.aborted) {
        capacity.unreserve(reserved);
        return;
      }
      let messages: ReceivedMessage[];
      const poll = { at: this.#o.clock.now() };
      this.#pollsStartedAt.add(poll);
      try {
        messages = await this.#queue.receive({
          maxMessages: reserved,
          waitTimeSeconds: this.#o.waitTimeSeconds,
          visibilityTimeoutSeconds: this.#o.visibilityTimeoutSeconds,
          signal,
        });
      } catch (error) {
        capacity.unreserve(reserved);
        if (signal.aborted) return;
        failures += 1;
        sink.failed(error);
        await pause(failurePauseMs(failures, this.#o.failureBackoff), signal);
        continue;
      } finally {
        this.#pollsStartedAt.delete(poll);
      }
      failures = 0;
      sink.succeeded();
      // One synchronous step: the reservation is given back as the messages are taken in.
      capacity.unreserve(reserved);
      if (messages.length > 0) sink.received(messages);
      else sink.empty();
    }
  }
}

/** Resolves after `ms`, or at once when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
