import { EventEmitter } from 'node:events';
import type { Clock } from '../core/clock.js';
import type { EnvelopeMode } from '../core/envelope.js';
import type { ObservableRuntime, RuntimeEvents } from '../core/events.js';
import type { Handler } from '../core/handler.js';
import type { IdempotencyService } from '../core/idempotency.js';
import type { Logger } from '../core/logger.js';
import type { MessageSource } from '../core/message-source.js';
import { toWorkerMessage } from '../core/message.js';
import type { PipelineDeps, Processed } from '../core/pipeline.js';
import type { Queue, ReceivedMessage } from '../core/queue.js';
import { reason } from '../core/reasons.js';
import { queueNameOf, type Tracing } from '../core/tracing.js';
import { BatchingQueue } from './batching-queue.js';
import { Capacity } from './capacity.js';
import { Delivery } from './delivery.js';
import { Lanes, scheduleBatch } from './lanes.js';
import { decideSettlement, type SettlePlan } from './settle-policy.js';
import { DeadLetterCopyError, Settler, deleteRetryDelays } from './settle.js';

export interface RuntimeOptions {
  readonly queue: Queue;
  /** Where permanent failures go; undefined: they are released and SQS's redrive moves them. */
  readonly deadLetters: Queue | undefined;
  /** The receive loop (poller.ts): asks for at most the room the runtime's capacity has. */
  readonly source: MessageSource;
  readonly idempotency: IdempotencyService;
  readonly handler: Handler;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly keyAttribute: string;
  /** MESSAGE_ENVELOPE: the envelope bodies come in (core/envelope.ts); default none. */
  readonly envelope?: EnvelopeMode | undefined;
  readonly visibilityTimeoutSeconds: number;
  /** The lease's clock-skew margin, resolved (leaseClockSkewMs in lease.ts). */
  readonly skewMs: number;
  readonly maxInFlight: number;
  /** 0: no timeout. */
  readonly handlerTimeoutMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly validate?: PipelineDeps['validate'] | undefined;
  /** Stop receiving after this many messages (the `consume --count` command); default no limit. */
  readonly receiveLimit?: number | undefined;
  /** Checks once at start that the queue answers, so readiness need not wait out a first long poll. */
  readonly probe?: (() => Promise<void>) | undefined;
  /** For backoff jitter; tests pass a fixed one. */
  readonly random?: (() => number) | undefined;
  /** Spans per delivery (core/tracing.ts); default none. */
  readonly tracing?: Tracing | undefined;
}

/** After the handlers' signals fire at shutdown, how long they get to return and be settled. */
export const STOP_GRACE_MS = 5000;

/** Outcomes after which the next message of a FIFO group may go ahead. */
const ORDER_SAFE = new Set(['success', 'duplicate', 'dead_lettered', 'payload_mismatch']);

/**
 * The worker runtime: wires the poller (poller.ts) to one Delivery per message (delivery.ts) and
 * settles each by the policy (settle-policy.ts) through the settler (settle.ts). It owns the
 * in-flight set, the lanes and the drain; it emits typed events and logs nothing itself.
 *
 * Lanes: a standard queue runs deliveries of one key one after another (a second delivery of a key
 * finds the first completed), a FIFO queue those of one message group; once a message of a group
 * fails, the group's later messages from the same receive are released untouched.
 */
export class WorkerRuntime extends EventEmitter<RuntimeEvents> implements ObservableRuntime {
  readonly #o: RuntimeOptions;
  readonly #settler: Settler;
  readonly #capacity: Capacity;
  readonly #inFlight = new Set<Promise<void>>();
  /** Fires when stop() is called: nothing new starts, waits on other workers' claims end. */
  readonly #stoppingSignal = new AbortController();
  /** Fires when in-flight handlers are given up on (SHUTDOWN_TIMEOUT). */
  readonly #shutdown = new AbortController();
  readonly #lanes = new Lanes();
  /** Deliveries whose room went back before they were settled (Capacity.handOff). */
  readonly #handedOff = new WeakSet<Delivery>();
  /** Handed off when their handler returned, and their complete not yet answered. */
  readonly #recording = new Set<Delivery>();
  #started = false;
  #stopping = false;
  #stopped: Promise<void> = Promise.resolve();
  #lastPollAt: number | undefined;

  constructor(options: RuntimeOptions) {
    super();
    this.#o = options;
    this.#settler = new Settler(
      options.queue,
      options.deadLetters,
      (pk, copyId) => options.idempotency.markDeadLettered(pk, copyId),
      deleteRetryDelays(options.visibilityTimeoutSeconds),
      options.clock,
    );
    this.#capacity = new Capacity(options.maxInFlight, options.receiveLimit);
  }

  get inFlight(): number {
    return this.#capacity.inFlight;
  }

  /**
   * Messages whose outcome is not yet recorded: in flight, plus those handed off when their
   * handler returned whose complete is under way. What the batching store's window waits for.
   */
  get unrecorded(): number {
    return this.#capacity.inFlight + this.#recording.size;
  }

  get lastPollAt(): number | undefined {
    return this.#lastPollAt;
  }

  /** Epoch ms until which the long poll stop() aborted may still take messages (see poller.ts). */
  get quietUntil(): number {
    return this.#o.source.quietUntil;
  }

  get running(): boolean {
    return this.#started && !this.#stopping;
  }

  /** Probes the queue (rejects when it cannot be reached), then starts polling. */
  async start(): Promise<void> {
    if (this.#started || this.#stopping) return;
    if (this.#o.probe) {
      await this.#o.probe();
      this.#pollSucceeded();
    }
    if (this.#stopping) return;
    this.#started = true;
    this.#o.source.start({
      capacity: this.#capacity,
      received: (messages) => this.#dispatch(messages),
      succeeded: () => this.#pollSucceeded(),
      empty: () => this.emit('queue_empty'),
      failed: (error) => this.emit('poll_failed', error),
    });
  }

  /**
   * Graceful drain: the running long poll is aborted and no receive starts; messages not yet
   * started are released at once; handlers in flight get `timeoutMs` to finish. Then their signals
   * fire, and they get STOP_GRACE_MS more to return and be settled (claim failed, message visible
   * at once). A handler still running after that keeps its key: its message is left alone, and
   * its lease and visibility lapse once the process is gone. Batched deletes and visibility
   * changes go out at once from the start of the stop (no SQS_BATCH_FLUSH_DELAY), and after the
   * drain stop() waits for their answers, within the same budget. Resolves within timeoutMs +
   * STOP_GRACE_MS (plus the poller's stop, an aborted request).
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#stopping) return this.#stopped;
    this.#stopping = true;
    this.#stopped = this.#stop(timeoutMs);
    return this.#stopped;
  }

  async #stop(timeoutMs: number): Promise<void> {
    const { clock, queue } = this.#o;
    const flushBy = clock.monotonic() + timeoutMs + STOP_GRACE_MS;
    const batching = queue instanceof BatchingQueue ? queue : undefined;
    // Settles made while draining (and releases at stop) are sent at once, not after the delay.
    batching?.stopDelaying();
    this.#stoppingSignal.abort(new Error('worker stopping'));
    this.#capacity.close();
    try {
      await this.#o.source.stop();
      if (await this.#drainedWithin(timeoutMs)) return;
      this.#o.logger.warn({ inFlight: this.inFlight }, 'shutdown timeout reached: aborting handlers');
      this.#shutdown.abort(new Error('worker shutting down'));
      if (await this.#drainedWithin(STOP_GRACE_MS)) return;
      this.#o.logger.warn(
        { inFlight: this.inFlight },
        'handlers still running after their signal: their messages and keys are left to lapse',
      );
    } finally {
      // Whatever is still waiting goes out now; its answers are waited for within the budget.
      if (batching) {
        const flushed = new AbortController();
        const budgetMs = Math.max(0, flushBy - clock.monotonic());
        await Promise.race([batching.flush(), clock.sleep(budgetMs, flushed.signal)]);
        flushed.abort();
      }
    }
  }

  /** True once nothing is in flight, false if `ms` pass first. */
  async #drainedWithin(ms: number): Promise<boolean> {
    if (this.#inFlight.size === 0) return true;
    const over = new AbortController();
    const deadline = this.#o.clock.sleep(ms, over.signal).then(() => false);
    const drained = (async () => {
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      return true as const;
    })();
    const result = await Promise.race([drained, deadline]);
    // Ends the deadline's timer (its promise then resolves false, unread).
    over.abort();
    return result;
  }

  #pollSucceeded(): void {
    this.#lastPollAt = this.#o.clock.now();
    this.emit('poll_succeeded');
  }

  #dispatch(batch: readonly ReceivedMessage[]): void {
    this.#capacity.take(batch.length);
    const deliveries = batch.map((received) => this.#receive(received));
    const fifo = this.#o.queue.fifo;
    const work = scheduleBatch(
      this.#lanes,
      deliveries,
      ({ message }) => (fifo ? `group:${message.groupId ?? ''}` : `key:${message.key}`),
      async (delivery, blocked) => {
        const skip = fifo && blocked ? reason('FIFO_GROUP_BLOCKED') : undefined;
        const processed = await this.#handle(delivery, skip);
        return !fifo || ORDER_SAFE.has(processed.outcome);
      },
    );
    work.forEach((one, index) => {
      const delivery = deliveries[index] as Delivery;
      this.#inFlight.add(one);
      void one.finally(() => {
        this.#inFlight.delete(one);
        this.#capacity.release(this.#handedOff.delete(delivery));
      });
    });
  }

  #receive(received: ReceivedMessage): Delivery {
    const message = toWorkerMessage(received, this.#o.keyAttribute, this.#o.envelope);
    const traced = this.#o.tracing?.enabled ? this.#o.tracing : undefined;
    const delivery: Delivery = new Delivery(received, message, this.#o.logger, {
      queue: this.#o.queue,
      idempotency: this.#o.idempotency,
      handler: this.#o.handler,
      clock: this.#o.clock,
      visibilityTimeoutSeconds: this.#o.visibilityTimeoutSeconds,
      handlerTimeoutMs: this.#o.handlerTimeoutMs,
      skewMs: this.#o.skewMs,
      tracing: traced,
      destination: traced && queueNameOf(this.#o.queue.url),
      stopping: this.#stoppingSignal.signal,
      shutdown: this.#shutdown.signal,
      onLeaseLost: (m) => this.emit('lease_lost', m),
      onHeartbeatError: (m, error) => this.emit('heartbeat_failed', m, error),
      validate: this.#o.validate,
      // The handler's work is done: only the complete and the delete are left, so the room may go
      // to the next receive now. A complete that fails is still settled by this delivery
      // (released), just without room.
      onRecording: () => {
        if (this.#handOff(delivery)) this.#recording.add(delivery);
      },
    });
    this.emit('message_received', message);
    return delivery;
  }

  async #handle(delivery: Delivery, skip: ReturnType<typeof reason> | undefined): Promise<Processed> {
    let result: Processed;
    try {
      result = await delivery.run(skip);
    } finally {
      this.#recording.delete(delivery);
      delivery.end();
    }
    const { received, message } = delivery;
    const now = this.#o.clock.now();
    const decided = decideSettlement(received, message, result, {
      hasDeadLetterQueue: this.#settler.hasDeadLetterQueue,
      shuttingDown: this.#shutdown.signal.aborted,
      backoff: this.#o.backoff,
      keyAttribute: this.#o.keyAttribute,
      now,
      // SQS's 12 hours count from the receive: the time held, measured on the monotonic clock.
      receivedAt: now - delivery.heldMs(),
      random: this.#o.random,
    });
    const { plan } = decided;
    let { processed } = decided;
    // Recorded (a duplicate of a completed key, or completed and not handed off when its handler
    // returned): only the delete is left, so the room may go to the next receive now.
    if (plan.action === 'delete') this.#handOff(delivery);
    try {
      const settling = this.#afterAbortedPoll(plan);
      await delivery.trace.step(
        'settle',
        () => this.#settler.settle(received, message, settling),
        () => ({ 'sqs_worker.settle.action': settling.action }),
      );
    } catch (error) {
      this.emit('settle_failed', message, plan.action, error);
      // Only a copy the dead-letter queue accepted counts as dead-lettered.
      if (error instanceof DeadLetterCopyError) processed = copyRefused(processed, error);
    }
    delivery.trace.end(processed);
    this.emit('message_settled', {
      message,
      processed,
      durationMs: delivery.heldMs(),
      logger: delivery.logger,
    });
    return processed;
  }

  /**
   * Gives the delivery's room back before it is settled, once, unless maxSettling are settling
   * (bounded by the capacity). Not on a FIFO queue: its group's next message comes only once the
   * delete lands, so nothing is won.
   */
  #handOff(delivery: Delivery): boolean {
    if (this.#o.queue.fifo) return false;
    if (this.#handedOff.has(delivery)) return true;
    if (!this.#capacity.handOff()) return false;
    this.#handedOff.add(delivery);
    return true;
  }

  /**
   * A message made visible right after stop() could be taken by the long poll stop() aborted: it
   * comes back only once that poll's wait is surely over (made visible then, not waited for).
   */
  #afterAbortedPoll(plan: SettlePlan): SettlePlan {
    if (plan.action !== 'release') return plan;
    const quietMs = this.#o.source.quietUntil - this.#o.clock.now();
    return quietMs > plan.delayMs ? { action: 'release', delayMs: quietMs } : plan;
  }
}

/** A dead-letter whose copy was refused: the message stays in its queue and comes back (a retry). */
function copyRefused(processed: Processed, error: DeadLetterCopyError): Processed {
  const original = processed.reason?.code ?? 'INTERNAL_ERROR';
  return {
    ...processed,
    outcome: 'retry',
    action: 'release',
    reason: { ...reason('DEAD_LETTER_FAILED', `${original}: ${error.message}`), original },
  };
}
