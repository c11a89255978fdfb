import type { Clock, Timer } from '../core/clock.js';
import { HandlerTimeoutError, describeError } from '../core/errors.js';
import type { Handler } from '../core/handler.js';
import type { IdempotencyService } from '../core/idempotency.js';
import { lazyChild, type Logger } from '../core/logger.js';
import type { WorkerMessage } from '../core/message.js';
import { processMessage, type PipelineDeps, type Processed } from '../core/pipeline.js';
import type { Queue, ReceivedMessage } from '../core/queue.js';
import { reason, type Reason } from '../core/reasons.js';
import { noTracing, type DeliveryTrace, type Tracing } from '../core/tracing.js';
import { Hold } from './lease.js';

export interface DeliveryOptions {
  readonly queue: Queue;
  readonly idempotency: IdempotencyService;
  readonly handler: Handler;
  readonly clock: Clock;
  readonly visibilityTimeoutSeconds: number;
  /** 0: no timeout. */
  readonly handlerTimeoutMs: number;
  readonly validate?: PipelineDeps['validate'];
  /** LEASE_CLOCK_SKEW, resolved (leaseClockSkewMs in lease.ts). */
  readonly skewMs: number;
  /** Fires when the worker starts to stop: what has not started is released, waits end. */
  readonly stopping: AbortSignal;
  /** Fires when the worker gives up waiting for in-flight handlers at shutdown. */
  readonly shutdown: AbortSignal;
  readonly onLeaseLost: (message: WorkerMessage) => void;
  readonly onHeartbeatError: (message: WorkerMessage, error: unknown) => void;
  /** Spans (core/tracing.ts); default none. `destination` is the queue's name. */
  readonly tracing?: Tracing | undefined;
  readonly destination?: string | undefined;
  /** The handler returned and its complete is about to be written (PipelineDeps.onRecording). */
  readonly onRecording?: (() => void) | undefined;
}

/**
 * One received message from receipt to a `Processed` result. Its hold (lease.ts: visibility,
 * lease, their schedules, watchdog) starts at receipt, so a message waiting in its lane does not
 * time out; `run()` claims the key, runs the handler under its timeout, the shutdown signal and
 * the lease, and records the result; `end()` stops the hold. HANDLER_TIMEOUT counts from when the
 * pipeline starts the handler (LeaseControl.startHandler), not from the claim: a wait for another
 * worker's lease is not the handler's time.
 *
 *   receipt ── visibility every V/3 ───────────────────────────────────────────────── end()
 *              run(): validate ── claim (waits) ── handler (signal: timeout | shutdown | lease) ── complete/fail
 *                                                  └ HANDLER_TIMEOUT from here
 */
export class Delivery {
  readonly received: ReceivedMessage;
  readonly message: WorkerMessage;
  readonly logger: Logger;
  readonly receivedAt: number;
  /** The same instant on the monotonic clock: what heldMs() counts from. */
  readonly #receivedAtMono: number;
  /** This delivery's span, from receipt; the runtime ends it once the message is settled. */
  readonly trace: DeliveryTrace;
  readonly #o: DeliveryOptions;
  readonly #controller = new AbortController();
  readonly #hold: Hold;
  /** HANDLER_TIMEOUT's timer, armed when the handler starts; cleared when run() returns. */
  #timeout: Timer | undefined;
  #running = false;

  constructor(received: ReceivedMessage, message: WorkerMessage, logger: Logger, options: DeliveryOptions) {
    this.received = received;
    this.message = message;
    this.#o = options;
    this.receivedAt = options.clock.now();
    this.#receivedAtMono = options.clock.monotonic();
    this.trace = (options.tracing ?? noTracing).startDelivery({
      received,
      attributes: message.attributes,
      key: message.key,
      destination: options.destination ?? '',
    });
    this.logger = lazyChild(logger, {
      messageId: message.messageId,
      key: message.key,
      receiveCount: message.receiveCount,
      groupId: message.groupId,
    });
    this.#hold = new Hold({
      queue: options.queue,
      receiptHandle: received.receiptHandle,
      idempotency: options.idempotency,
      clock: options.clock,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
      skewMs: options.skewMs,
      receivedAt: this.receivedAt,
      stopping: options.stopping,
      abort: (reason) => this.#controller.abort(reason),
      onLeaseLost: () => options.onLeaseLost(message),
      onError: (error) => options.onHeartbeatError(message, error),
      onHandlerStart: () => this.#startHandlerTimeout(),
    });
  }

  /**
   * Handles the message, unless `skip` says why not (it is then released untouched). Never throws:
   * a fault in the worker's own code becomes a retry with reason INTERNAL_ERROR.
   */
  async run(skip?: Reason): Promise<Processed> {
    if (skip) return released(skip);
    if (this.#o.stopping.aborted) return released(reason('SHUTDOWN'));
    const onShutdown = () => this.#controller.abort(this.#o.shutdown.reason);
    this.#o.shutdown.addEventListener('abort', onShutdown, { once: true });
    this.#running = true;
    try {
      return await processMessage(this.message, {
        idempotency: this.#o.idempotency,
        handler: this.#o.handler,
        logger: this.logger,
        signal: this.#controller.signal,
        now: () => this.#o.clock.now(),
        lease: this.#hold,
        trace: this.trace,
        ...(this.#o.validate ? { validate: this.#o.validate } : {}),
        ...(this.#o.onRecording ? { onRecording: this.#o.onRecording } : {}),
      });
    } catch (error) {
      // A fault in our own code: leave the message for redelivery, and say so loudly.
      return { ...released(reason('INTERNAL_ERROR', describeError(error))), error };
    } finally {
      this.#running = false;
      this.#o.clock.clearTimeout(this.#timeout);
      this.#o.shutdown.removeEventListener('abort', onShutdown);
    }
  }

  /** The handler starts now: its HANDLER_TIMEOUT starts with it (once per run). */
  #startHandlerTimeout(): void {
    const timeoutMs = this.#o.handlerTimeoutMs;
    if (timeoutMs <= 0 || !this.#running || this.#timeout !== undefined) return;
    this.#timeout = this.#o.clock.setTimeout(
      () => this.#controller.abort(new HandlerTimeoutError(timeoutMs)),
      timeoutMs,
    );
  }

  /** How long since receipt, on the monotonic clock (a step of the wall clock does not move it). */
  heldMs(): number {
    return this.#o.clock.monotonic() - this.#receivedAtMono;
  }

  /** The delivery is settled: no more visibility changes or renewals. */
  end(): void {
    this.#hold.end();
  }
}

function released(why: Reason): Processed {
  return { outcome: 'retry', action: 'release', reason: why };
}
