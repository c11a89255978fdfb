import { EventEmitter } from 'node:events';
import { GetQueueAttributesCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import type { Clock } from '../core/clock.js';
import { HandlerTimeoutError, describeError } from '../core/errors.js';
import type { Handler } from '../core/handler.js';
import type { IdempotencyService } from '../core/idempotency.js';
import type { Logger } from '../core/logger.js';
import { decodeBody, deriveKey, type WorkerMessage } from '../core/message.js';
import { processMessage, type PipelineDeps, type Processed } from '../core/pipeline.js';
import { isFifoQueue } from '../aws/queues.js';
import { backoffMs, toVisibilitySeconds } from './backoff.js';
import { Heartbeat } from './heartbeat.js';
import { Lanes, scheduleBatch } from './lanes.js';
import { Settler } from './settle.js';

export interface RuntimeOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** Where permanent failures go; undefined: they are released and SQS's redrive moves them. */
  readonly dlqUrl: string | undefined;
  readonly idempotency: IdempotencyService;
  readonly handler: Handler;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly keyAttribute: string;
  readonly waitTimeSeconds: number;
  readonly visibilityTimeoutSeconds: number;
  readonly batchSize: number;
  readonly maxInFlight: number;
  /** 0: no timeout. */
  readonly handlerTimeoutMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly validate?: PipelineDeps['validate'];
  /** Stop receiving after this many messages (the `consume --count` command); default no limit. */
  readonly receiveLimit?: number;
}

/** What happened to one delivery: the single source for outcome logs and metrics. */
export interface MessageEvent {
  readonly message: WorkerMessage;
  readonly processed: Processed;
  /** Receive to settled, milliseconds. */
  readonly durationMs: number;
  readonly logger: Logger;
}

export interface RuntimeEvents {
  message_received: [message: WorkerMessage];
  message_settled: [event: MessageEvent];
  poll_succeeded: [];
  /** A receive returned no messages. */
  queue_empty: [];
  poll_failed: [error: Error];
  /** An SQS call made after handling (delete, release, dead_letter) failed. */
  settle_failed: [message: WorkerMessage, operation: string, error: unknown];
  /** The heartbeat found the claim taken over while the handler ran; the handler was aborted. */
  lease_lost: [message: WorkerMessage];
  heartbeat_failed: [message: WorkerMessage, error: unknown];
}

/** Outcomes after which the next message of a FIFO group may go ahead. */
const ORDER_SAFE = new Set(['success', 'duplicate', 'dead_lettered', 'payload_mismatch']);

/**
 * The polling runtime. sqs-consumer runs the receive loop; every received message is handed to
 * this class's in-flight set at once, so receives continue while handlers run (up to
 * maxInFlight), and this class settles each message itself.
 */
export class WorkerRuntime extends EventEmitter<RuntimeEvents> {
  readonly #o: RuntimeOptions;
  readonly #fifo: boolean;
  readonly #settler: Settler;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #shutdown = new AbortController();
  /** Per key (standard) or group (FIFO): deliveries run one after another, in receive order. */
  readonly #lanes = new Lanes();
  #capacityWaiters: (() => void)[] = [];
  #consumer: Consumer | undefined;
  #stopping = false;
  #received = 0;
  #lastPollAt: number | undefined;
  /** When the receive in progress started; undefined between receives. */
  #pollStartedAt: number | undefined;
  /**
   * An aborted long poll may still be answered on the server side, taking any message that becomes
   * visible before its wait ends into a connection nobody reads (seen with fauxqs, reported for
   * SQS). Messages released at shutdown are released only after that window.
   */
  #abortedPollEndsAt = 0;

  constructor(options: RuntimeOptions) {
    super();
    this.#o = options;
    this.#fifo = isFifoQueue(options.queueUrl);
    this.#settler = new Settler(options.sqs, options.queueUrl, options.dlqUrl);
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Epoch ms of the last successful receive (or the start-up queue check). */
  get lastPollAt(): number | undefined {
    return this.#lastPollAt;
  }

  get running(): boolean {
    return (this.#consumer?.status.isRunning ?? false) && !this.#stopping;
  }

  /**
   * Checks that the queue answers (one GetQueueAttributes, so readiness does not wait out a first
   * empty long poll), then starts polling. Rejects when the queue cannot be reached.
   */
  async start(): Promise<void> {
    if (this.#consumer) return;
    await this.#o.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.#o.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    this.#markPoll();
    const consumer = Consumer.create({
      queueUrl: this.#o.queueUrl,
      sqs: this.#o.sqs,
      batchSize: this.#o.batchSize,
      waitTimeSeconds: this.#o.waitTimeSeconds,
      visibilityTimeout: this.#o.visibilityTimeoutSeconds,
      messageSystemAttributeNames: [
        'ApproximateReceiveCount',
        'ApproximateFirstReceiveTimestamp',
        'SentTimestamp',
        'MessageGroupId',
      ],
      messageAttributeNames: ['All'],
      shouldDeleteMessages: false,
      suppressFifoWarning: true,
      strictReturn: true,
      preReceiveMessageCallback: async () => {
        await this.#waitForCapacity();
        this.#pollStartedAt = Date.now();
      },
      postReceiveMessageCallback: async () => {
        this.#pollStartedAt = undefined;
        this.#markPoll();
      },
      handleMessageBatch: async (messages) => {
        this.#received += messages.length;
        this.#dispatch(messages);
        this.#resizeBatch();
        return [];
      },
    });
    consumer.on('empty', () => this.emit('queue_empty'));
    consumer.on('error', (error, message) => {
      if (message === undefined && !this.#stopping) this.emit('poll_failed', error);
    });
    this.#consumer = consumer;
    this.#resizeBatch();
    consumer.start();
  }

  /**
   * Graceful drain: the running long poll is aborted and no receive starts; in-flight messages get
   * up to `timeoutMs` to finish; then the rest are aborted, their claims failed and their
   * visibility set to 0 so that another worker picks them up at once.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#stopping) return this.#drained();
    this.#stopping = true;
    const consumer = this.#consumer;
    if (consumer?.status.isRunning) {
      const stopped = new Promise<void>((resolve) => consumer.once('stopped', () => resolve()));
      if (this.#pollStartedAt !== undefined) {
        this.#abortedPollEndsAt = this.#pollStartedAt + this.#o.waitTimeSeconds * 1000 + 100;
      }
      consumer.stop({ abort: true });
      await stopped;
    }
    for (const wake of this.#capacityWaiters.splice(0)) wake();
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([this.#drained(), deadline]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.#o.logger.warn({ inFlight: this.#inFlight.size }, 'shutdown timeout reached: aborting handlers');
      this.#shutdown.abort(new Error('worker shutting down'));
      await this.#drained();
    }
  }

  async #drained(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #markPoll(): void {
    this.#lastPollAt = this.#o.clock.now();
    this.emit('poll_succeeded');
  }

  /** Back-pressure: the next receive waits until there is room. */
  async #waitForCapacity(): Promise<void> {
    while (this.#room() <= 0) {
      await new Promise<void>((resolve) => this.#capacityWaiters.push(resolve));
      if (this.#stopping) throw new Error('stopping');
    }
  }

  #room(): number {
    const left = (this.#o.receiveLimit ?? Number.POSITIVE_INFINITY) - this.#received;
    return Math.min(this.#o.batchSize, this.#o.maxInFlight - this.#inFlight.size, left);
  }

  /**
   * sqs-consumer reads batchSize when it builds a receive, before our pre-receive wait, so the
   * size is kept current whenever the room changes: a receive never asks for more than fits.
   */
  #resizeBatch(): void {
    const room = this.#room();
    if (room > 0 && this.#consumer) this.#consumer.updateOption('batchSize', room);
  }

  /**
   * Queues each message on its lane. Standard queues: the lane is the key, so a second delivery
   * of a key waits for the first and finds it completed. FIFO: the lane is the group, so a group
   * is handled strictly in order; once a message of a group fails, the group's later messages from
   * the same receive are not handled but made visible again, behind the failed one.
   */
  #dispatch(messages: Message[]): void {
    const received = messages.map((raw) => {
      const message = toWorkerMessage(raw, this.#o.keyAttribute);
      const controller = new AbortController();
      const heartbeat = this.#heartbeat(raw, message, controller);
      this.emit('message_received', message);
      return { raw, message, controller, heartbeat };
    });
    const work = scheduleBatch(
      this.#lanes,
      received,
      ({ message }) => (this.#fifo ? `group:${message.groupId ?? ''}` : `key:${message.key}`),
      async (item, blocked) => {
        const processed = await this.#handle(item.raw, item.message, {
          ...item,
          skip: this.#fifo && blocked,
        });
        return !this.#fifo || ORDER_SAFE.has(processed.outcome);
      },
    );
    for (const one of work) this.#track(one);
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => {
      this.#inFlight.delete(work);
      this.#resizeBatch();
      this.#capacityWaiters.shift()?.();
    });
  }

  #heartbeat(raw: Message, message: WorkerMessage, controller: AbortController): Heartbeat {
    return new Heartbeat({
      sqs: this.#o.sqs,
      queueUrl: this.#o.queueUrl,
      receiptHandle: raw.ReceiptHandle,
      visibilityTimeoutSeconds: this.#o.visibilityTimeoutSeconds,
      idempotency: this.#o.idempotency,
      onLeaseLost: () => {
        this.emit('lease_lost', message);
        controller.abort(new Error('lease lost: another worker took the key over'));
      },
      onError: (error) => this.emit('heartbeat_failed', message, error),
    });
  }

  async #handle(
    raw: Message,
    message: WorkerMessage,
    { heartbeat, controller, skip }: { heartbeat: Heartbeat; controller: AbortController; skip: boolean },
  ): Promise<Processed> {
    const started = this.#o.clock.now();
    const logger = this.#o.logger.child({
      messageId: message.messageId,
      key: message.key,
      receiveCount: message.receiveCount,
      ...(message.groupId === undefined ? {} : { groupId: message.groupId }),
    });
    const onShutdown = () => controller.abort(this.#shutdown.signal.reason);
    this.#shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    const timer =
      this.#o.handlerTimeoutMs > 0
        ? setTimeout(
            () => controller.abort(new HandlerTimeoutError(this.#o.handlerTimeoutMs)),
            this.#o.handlerTimeoutMs,
          )
        : undefined;
    let processed: Processed;
    try {
      processed = skip
        ? skipped('FIFO_GROUP_BLOCKED', 'an earlier message of this group failed in the same receive')
        : this.#shutdown.signal.aborted
          ? skipped('SHUTDOWN', 'the worker stopped before this message started')
          : await this.#process(message, logger, controller.signal, heartbeat);
    } finally {
      clearTimeout(timer);
      heartbeat.stop();
      this.#shutdown.signal.removeEventListener('abort', onShutdown);
    }
    const settled = await this.#settle(raw, message, processed);
    this.emit('message_settled', {
      message,
      processed: settled,
      durationMs: this.#o.clock.now() - started,
      logger,
    });
    return settled;
  }

  async #process(message: WorkerMessage, logger: Logger, signal: AbortSignal, heartbeat: Heartbeat) {
    try {
      return await processMessage(message, {
        idempotency: this.#o.idempotency,
        handler: this.#o.handler,
        logger,
        signal,
        now: () => this.#o.clock.now(),
        onClaim: (claim) => heartbeat.hold(claim),
        ...(this.#o.validate ? { validate: this.#o.validate } : {}),
      });
    } catch (error) {
      // A fault in our own code: leave the message for redelivery, and say so loudly.
      return {
        outcome: 'retry',
        action: 'release',
        reason: { code: 'INTERNAL_ERROR', message: describeError(error) },
        error,
      } satisfies Processed;
    }
  }

  /**
   * Nothing is deleted unless completed, a duplicate, or safely in the dead-letter queue. Returns
   * what was actually done: a permanent failure on a queue without a dead-letter queue can only be
   * released (with backoff), and is reported as a retry, not as dead-lettered.
   */
  async #settle(raw: Message, message: WorkerMessage, processed: Processed): Promise<Processed> {
    const settled = this.#settler.dlqUrl || processed.action !== 'dead_letter' ? processed : noDlq(processed);
    try {
      if (settled.action === 'delete') await this.#settler.delete(raw);
      else if (settled.action === 'dead_letter') {
        await this.#settler.deadLetter(raw, message, settled, this.#o.keyAttribute);
      } else {
        const delayMs = this.#releaseDelayMs(message, settled);
        if (delayMs === 0) await this.#afterAbortedPoll();
        await this.#settler.release(raw, toVisibilitySeconds(delayMs));
      }
    } catch (error) {
      this.emit('settle_failed', message, settled.action, error);
    }
    return settled;
  }

  async #afterAbortedPoll(): Promise<void> {
    const wait = this.#abortedPollEndsAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  #releaseDelayMs(message: WorkerMessage, processed: Processed): number {
    if (this.#shutdown.signal.aborted || processed.reason?.code === 'FIFO_GROUP_BLOCKED') return 0;
    if (processed.retryAfterMs !== undefined) return processed.retryAfterMs;
    return backoffMs(message.receiveCount, this.#o.backoff.baseMs, this.#o.backoff.maxMs);
  }
}

function noDlq(processed: Processed): Processed {
  const why = processed.reason
    ? `${processed.reason.code}: ${processed.reason.message}`
    : 'permanent failure';
  return {
    ...processed,
    outcome: 'retry',
    action: 'release',
    reason: { code: 'NO_DEAD_LETTER_QUEUE', message: `${why}; the queue has no redrive policy` },
  };
}

function skipped(code: string, message: string): Processed {
  return { outcome: 'retry', action: 'release', reason: { code, message } };
}

export function toWorkerMessage(raw: Message, keyAttribute: string): WorkerMessage {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined) attributes[name] = value.StringValue;
  }
  const messageId = raw.MessageId ?? '';
  const rawBody = raw.Body ?? '';
  const sent = raw.Attributes?.SentTimestamp;
  return {
    key: deriveKey(attributes, messageId, keyAttribute),
    body: decodeBody(rawBody),
    rawBody,
    attributes,
    messageId,
    receiveCount: Number(raw.Attributes?.ApproximateReceiveCount ?? '1'),
    groupId: raw.Attributes?.MessageGroupId,
    sentAt: sent === undefined ? undefined : Number(sent),
  };
}
