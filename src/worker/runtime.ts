import { EventEmitter } from 'node:events';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Handler } from '../core/handler.js';
import type { IdempotencyService } from '../core/idempotency.js';
import type { Claim } from '../core/idempotency-store.js';
import type { Logger } from '../core/logger.js';
import { decodeBody, deriveKey, type WorkerMessage } from '../core/message.js';
import { processMessage, type Processed } from '../core/pipeline.js';

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
  /** An SQS call made after handling (delete, visibility, dead-letter send) failed. */
  settle_failed: [message: WorkerMessage, operation: string, error: unknown];
}

/** The polling runtime: sqs-consumer runs the receive loop, this class owns every message after. */
export class WorkerRuntime extends EventEmitter<RuntimeEvents> {
  readonly #o: RuntimeOptions;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #shutdown = new AbortController();
  /** Keys being handled here: a second delivery of one waits for the first instead of racing it. */
  readonly #localKeys = new Map<string, Promise<void>>();
  #stopping = false;
  #consumer: Consumer | undefined;
  #capacityWaiters: (() => void)[] = [];
  #lastPollAt: number | undefined;
  #received = 0;

  constructor(options: RuntimeOptions) {
    super();
    this.#o = options;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Epoch ms of the last successful ReceiveMessage, undefined before the first. */
  get lastPollAt(): number | undefined {
    return this.#lastPollAt;
  }

  get running(): boolean {
    return this.#consumer?.status.isRunning ?? false;
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
    this.#lastPollAt = this.#o.clock.now();
    this.emit('poll_succeeded');
    const consumer = Consumer.create({
      queueUrl: this.#o.queueUrl,
      sqs: this.#o.sqs,
      batchSize: this.#o.batchSize,
      waitTimeSeconds: this.#o.waitTimeSeconds,
      visibilityTimeout: this.#o.visibilityTimeoutSeconds,
      attributeNames: [],
      messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp', 'MessageGroupId'],
      messageAttributeNames: ['All'],
      // Messages are handed to our own in-flight set and settled (deleted, released or
      // dead-lettered) by us, so a slow message never holds up the next receive.
      shouldDeleteMessages: false,
      suppressFifoWarning: true,
      strictReturn: true,
      preReceiveMessageCallback: () => this.#waitForCapacity(),
      postReceiveMessageCallback: async () => {
        this.#lastPollAt = this.#o.clock.now();
        this.emit('poll_succeeded');
      },
      handleMessageBatch: async (messages) => {
        this.#received += messages.length;
        for (const message of messages) this.#track(this.#handleInKeyOrder(message));
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
   * Stops receiving (the running long poll is aborted), lets in-flight messages finish for up to
   * `timeoutMs`, then aborts what is left: those are failed and made visible again at once.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    const consumer = this.#consumer;
    if (consumer?.status.isRunning) {
      const stopped = new Promise<void>((resolve) => consumer.once('stopped', () => resolve()));
      consumer.stop({ abort: true });
      await stopped;
    }
    this.#releaseCapacityWaiters();
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const drained = await Promise.race([this.#drained(), deadline]);
    clearTimeout(timer);
    if (drained === 'timeout') {
      this.#o.logger.warn({ inFlight: this.#inFlight.size }, 'shutdown timeout reached: aborting handlers');
      this.#shutdown.abort(new Error('worker shutting down'));
      await this.#drained();
    }
  }

  async #drained(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => {
      this.#inFlight.delete(work);
      this.#resizeBatch();
      this.#capacityWaiters.shift()?.();
    });
  }

  /** Back-pressure: the next receive waits until there is room, and asks for no more than fits. */
  async #waitForCapacity(): Promise<void> {
    while (this.#room() <= 0) {
      await new Promise<void>((resolve) => this.#capacityWaiters.push(resolve));
      if (this.#stopping) throw new Error('stopping');
    }
  }

  /**
   * sqs-consumer reads batchSize when it builds a receive, before our pre-receive wait, so the
   * size is kept current whenever the room changes: a receive never asks for more than fits.
   */
  #resizeBatch(): void {
    const room = this.#room();
    if (room > 0) this.#consumer?.updateOption('batchSize', room);
  }

  #room(): number {
    const left = (this.#o.receiveLimit ?? Number.POSITIVE_INFINITY) - this.#received;
    return Math.min(this.#o.batchSize, this.#o.maxInFlight - this.#inFlight.size, left);
  }

  #releaseCapacityWaiters(): void {
    for (const wake of this.#capacityWaiters.splice(0)) wake();
  }

  /** Deliveries of a key already in flight here run after it, and so find it completed. */
  async #handleInKeyOrder(raw: Message): Promise<void> {
    const started = this.#o.clock.now();
    const message = toWorkerMessage(raw, this.#o.keyAttribute);
    const previous = this.#localKeys.get(message.key);
    const current = (previous ?? Promise.resolve()).then(() => this.#handle(raw, message, started));
    this.#localKeys.set(message.key, current);
    try {
      await current;
    } finally {
      if (this.#localKeys.get(message.key) === current) this.#localKeys.delete(message.key);
    }
  }

  async #handle(raw: Message, message: WorkerMessage, started: number): Promise<void> {
    const logger = this.#o.logger.child({ messageId: message.messageId, key: message.key });
    this.emit('message_received', message);
    let claim: Claim | undefined;
    const heartbeat = this.#startHeartbeat(raw, () => claim, logger);
    let processed: Processed;
    try {
      processed = await processMessage(message, {
        idempotency: this.#o.idempotency,
        handler: this.#o.handler,
        logger,
        signal: this.#shutdown.signal,
        now: () => this.#o.clock.now(),
        onClaim: (held) => {
          claim = held;
        },
      });
    } catch (error) {
      // A fault in our own code: leave the message for redelivery, and say so loudly.
      processed = {
        outcome: 'retry',
        action: 'release',
        reason: { code: 'INTERNAL_ERROR', message: describeError(error) },
        error,
      };
    } finally {
      clearInterval(heartbeat);
    }
    await this.#settle(raw, message, processed);
    this.emit('message_settled', { message, processed, durationMs: this.#o.clock.now() - started, logger });
  }

  /** Keeps the message invisible and the claim's lease alive, on one timer, while it is handled. */
  #startHeartbeat(raw: Message, claim: () => Claim | undefined, logger: Logger): NodeJS.Timeout {
    const everyMs = Math.max(1000, (this.#o.visibilityTimeoutSeconds * 1000) / 2);
    return setInterval(() => {
      const held = claim();
      void Promise.all([
        this.#o.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: this.#o.queueUrl,
            ReceiptHandle: raw.ReceiptHandle,
            VisibilityTimeout: this.#o.visibilityTimeoutSeconds,
          }),
        ),
        held ? this.#o.idempotency.renew(held) : Promise.resolve(true),
      ]).then(
        ([, kept]) => {
          if (!kept) logger.warn({}, 'lease lost while the handler runs: another worker took the key over');
        },
        (error: unknown) => logger.warn({ err: error }, 'heartbeat failed'),
      );
    }, everyMs).unref();
  }

  async #settle(raw: Message, message: WorkerMessage, processed: Processed): Promise<void> {
    try {
      if (processed.action === 'delete') {
        await this.#delete(raw);
      } else if (processed.action === 'dead_letter' && this.#o.dlqUrl) {
        await this.#deadLetter(raw, message, processed);
        await this.#delete(raw);
      } else {
        await this.#release(raw, processed);
      }
    } catch (error) {
      this.emit('settle_failed', message, processed.action, error);
    }
  }

  async #delete(raw: Message): Promise<void> {
    await this.#o.sqs.send(
      new DeleteMessageCommand({ QueueUrl: this.#o.queueUrl, ReceiptHandle: raw.ReceiptHandle }),
    );
  }

  /** Makes the message visible again: at once on shutdown, else when the other owner's lease lapses. */
  async #release(raw: Message, processed: Processed): Promise<void> {
    let seconds: number | undefined;
    if (this.#shutdown.signal.aborted) seconds = 0;
    else if (processed.retryAfterMs !== undefined) seconds = Math.ceil(processed.retryAfterMs / 1000);
    if (seconds === undefined) return;
    await this.#o.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.#o.queueUrl,
        ReceiptHandle: raw.ReceiptHandle,
        VisibilityTimeout: Math.min(seconds, 43_200),
      }),
    );
  }

  async #deadLetter(raw: Message, message: WorkerMessage, processed: Processed): Promise<void> {
    const attribute = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
    const attributes: Record<string, MessageAttributeValue> = { ...(raw.MessageAttributes ?? {}) };
    attributes.DeadLetterReason = attribute(processed.reason?.code ?? 'UNKNOWN');
    attributes.DeadLetterMessage = attribute((processed.reason?.message ?? '').slice(0, 1024) || '-');
    attributes.OriginalMessageId = attribute(message.messageId);
    attributes.Attempts = {
      DataType: 'Number',
      StringValue: String(processed.claim?.attempt ?? message.receiveCount),
    };
    await this.#o.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#o.dlqUrl,
        MessageBody: message.rawBody,
        MessageAttributes: attributes,
        ...(message.groupId
          ? { MessageGroupId: message.groupId, MessageDeduplicationId: message.messageId }
          : {}),
      }),
    );
  }
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
