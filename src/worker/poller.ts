import type { Clock } from '../core/clock.js';
import type { Queue, ReceivedMessage } from '../core/queue.js';
import {
  ABORTED_POLL_SLACK_MS,
  failurePauseMs,
  type FailureBackoff,
  type MessageSource,
  type PollSink,
  type ReceiveGate,
} from '../core/message-source.js';

export interface PollerOptions {
  readonly batchSize: number;
  readonly waitTimeSeconds: number;
  readonly visibilityTimeoutSeconds: number;
  readonly clock: Clock;
  /** Pause after a failed receive: base * 2^(failures-1), at most max. */
  readonly failureBackoff: FailureBackoff;
  /** Waited at before each receive: the store's circuit breaker (store-gate.ts); default none. */
  readonly gate?: ReceiveGate;
}

/**
 * A receive loop over any Queue: wait for room and for the gate, receive at most that much, hand
 * it over, repeat.
 */
export class QueuePoller implements MessageSource {
  readonly #queue: Queue;
  readonly #o: PollerOptions;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #pollStartedAt: number | undefined;
  #quietUntil = 0;

  constructor(queue: Queue, options: PollerOptions) {
    this.#queue = queue;
    this.#o = options;
  }

  get quietUntil(): number {
    return this.#quietUntil;
  }

  start(sink: PollSink): void {
    this.#loop ??= this.#run(sink);
  }

  async stop(): Promise<void> {
    if (this.#pollStartedAt !== undefined) {
      this.#quietUntil = this.#pollStartedAt + this.#o.waitTimeSeconds * 1000 + ABORTED_POLL_SLACK_MS;
    }
    this.#abort.abort(new Error('poller stopped'));
    await this.#loop;
  }

  async #run(sink: PollSink): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      const room = await sink.capacity.waitForRoom();
      if (room <= 0 || signal.aborted) return;
      if (this.#o.gate?.paused) {
        // Room can only grow meanwhile; it is asked for again once the gate lets receives start.
        await this.#o.gate.whenReceiving(signal);
        continue;
      }
      let messages: ReceivedMessage[];
      this.#pollStartedAt = this.#o.clock.now();
      try {
        messages = await this.#queue.receive({
          maxMessages: Math.min(this.#o.batchSize, room),
          waitTimeSeconds: this.#o.waitTimeSeconds,
          visibilityTimeoutSeconds: this.#o.visibilityTimeoutSeconds,
          signal,
        });
      } catch (error) {
        if (signal.aborted) return;
        failures += 1;
        sink.failed(error);
        await pause(failurePauseMs(failures, this.#o.failureBackoff), signal);
        continue;
      } finally {
        this.#pollStartedAt = undefined;
      }
      failures = 0;
      sink.succeeded();
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
