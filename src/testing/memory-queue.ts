import { createHash, randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import {
  QUEUE_LIMITS,
  type BatchResult,
  type MessageAttributes,
  type OutgoingMessage,
  type Queue,
  type ReceiveRequest,
  type ReceivedMessage,
  type VisibilityChange,
} from '../core/queue.js';
import {
  QueueError,
  abortError,
  checkOutgoing,
  checkReceive,
  checkVisibility,
  copyAttributes,
  decodeHandle,
  eachEntry,
  encodeHandle,
  inRange,
  invalid,
  untilAborted,
} from './memory-queue-rules.js';

export { QueueError } from './memory-queue-rules.js';

export interface MemoryQueueOptions {
  /** The queue's VisibilityTimeout, seconds; 30 unless given. Receives name their own. */
  readonly visibilityTimeoutSeconds?: number | undefined;
  /** RedrivePolicy: a message received maxReceiveCount times moves there on its next receive. */
  readonly redrive?: { readonly deadLetter: MemoryQueue; readonly maxReceiveCount: number } | undefined;
  /** FIFO queues: a missing deduplication id is the SHA-256 of the body. */
  readonly contentBasedDeduplication?: boolean | undefined;
}

/** A stored message as `peek()` shows it; `visibleAt` (epoch ms) is when it is, or was, visible again. */
export type StoredMessage = Omit<ReceivedMessage, 'receiptHandle'> & {
  readonly state: 'visible' | 'inFlight' | 'delayed';
  readonly visibleAt: number;
};

/** What each operation is called with: the argument an interceptor sees. */
export interface QueueOperationArgs {
  receive: ReceiveRequest;
  delete: string;
  deleteBatch: readonly string[];
  changeVisibility: VisibilityChange;
  changeVisibilityBatch: readonly VisibilityChange[];
  send: OutgoingMessage;
}
export type QueueOperation = keyof QueueOperationArgs;
/** Runs before the operation: throwing fails the call, a returned promise delays it. */
export type Interceptor<O extends QueueOperation> = (args: QueueOperationArgs[O]) => void | Promise<void>;

interface Entry {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: MessageAttributes;
  readonly groupId: string | undefined;
  readonly sentAt: number;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  /** When the latest receive happened (the 12-hour visibility limit counts from it). */
  receivedAt: number;
  visibleAt: number;
}

const DEDUPLICATION_WINDOW_MS = 5 * 60_000;
const STALE_HANDLE = 'Message does not exist or is not available for visibility timeout change.';
const NO_DEDUP =
  'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided';
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * An in-memory broker: queues by name and URL, on one clock. For tests and local runs only; it
 * holds nothing across processes.
 */
export class MemoryQueues {
  readonly clock: Clock;
  readonly #queues = new Map<string, MemoryQueue>();
  readonly #baseUrl: string;

  constructor(options: { clock?: Clock; baseUrl?: string } = {}) {
    this.clock = options.clock ?? systemClock;
    this.#baseUrl = options.baseUrl ?? 'https://sqs.memory.localhost/000000000000';
  }

  /** A new queue; FIFO when the name ends in `.fifo`. Rejects names SQS rejects, and repeats. */
  create(name: string, options: MemoryQueueOptions = {}): MemoryQueue {
    const fifo = name.endsWith('.fifo');
    if (!QUEUE_NAME.test(fifo ? name.slice(0, -5) : name) || name.length > 80) {
      throw new QueueError('InvalidParameterValue', `invalid queue name ${JSON.stringify(name)}`);
    }
    if (this.#queues.has(name)) throw new QueueError('QueueNameExists', `queue ${name} exists`);
    const queue = new MemoryQueue(name, `${this.#baseUrl}/${name}`, this.clock, options);
    this.#queues.set(name, queue);
    return queue;
  }

  /** The queue with this name or URL. */
  get(nameOrUrl: string): MemoryQueue | undefined {
    return this.#queues.get(nameOrUrl.split('/').at(-1) ?? nameOrUrl);
  }
}

/**
 * A Queue with SQS's semantics, in memory: visibility timeouts, receive counts, redrive to a
 * dead-letter queue, FIFO groups and deduplication, delays, long polls that wake as soon as a
 * message becomes visible, and SQS's error codes. Time is `clock.now()`; waits use setTimeout, so
 * jest's modern fake timers (which move Date.now too) drive it. A custom clock must move with the
 * timers, or long polls never reach their deadline.
 *
 * Receipt handles encode (queue, message, receive number): a handle stays recognisable after its
 * message is deleted, as SQS's do, and only the latest receive's handle is current.
 */
export class MemoryQueue implements Queue {
  readonly url: string;
  readonly name: string;
  readonly fifo: boolean;
  /** Calls made, by operation, counted on entry (intercepted and failed calls included). */
  readonly calls = {
    receive: 0,
    delete: 0,
    deleteBatch: 0,
    changeVisibility: 0,
    changeVisibilityBatch: 0,
    send: 0,
  };
  readonly #clock: Clock;
  readonly #options: MemoryQueueOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #dedup = new Map<string, { messageId: string; at: number }>();
  readonly #waiters = new Set<() => void>();
  readonly #interceptors = new Map<QueueOperation, Set<Interceptor<QueueOperation>>>();

  constructor(name: string, url: string, clock: Clock, options: MemoryQueueOptions = {}) {
    this.name = name;
    this.url = url;
    this.fifo = name.endsWith('.fifo');
    this.#clock = clock;
    this.#options = options;
    checkVisibility(options.visibilityTimeoutSeconds ?? 30, 'VisibilityTimeout');
    const redrive = options.redrive;
    if (redrive && (redrive.deadLetter.fifo !== this.fifo || !inRange(redrive.maxReceiveCount, 1, 1000))) {
      throw invalid(
        'RedrivePolicy',
        redrive.maxReceiveCount,
        'Queue types differ, or maxReceiveCount not 1-1000.',
      );
    }
  }

  async receive(request: ReceiveRequest): Promise<ReceivedMessage[]> {
    this.calls.receive += 1;
    await this.#intercepted('receive', request, request.signal);
    // The interface always names a timeout; untyped callers fall back to the queue's, as with SQS.
    const visibility = request.visibilityTimeoutSeconds ?? this.#options.visibilityTimeoutSeconds ?? 30;
    checkReceive({ ...request, visibilityTimeoutSeconds: visibility });
    const deadline = this.#clock.now() + request.waitTimeSeconds * 1000;
    for (;;) {
      if (request.signal?.aborted) throw abortError(request.signal);
      // One instant for the look and the wait: a message that lapses between them still wakes it.
      const now = this.#clock.now();
      const messages = this.#take(request.maxMessages, visibility, now);
      if (messages.length > 0 || now >= deadline) return messages;
      await this.#changeOrTimeout(deadline, request.signal, now);
    }
  }

  async delete(receiptHandle: string): Promise<void> {
    this.calls.delete += 1;
    await this.#intercepted('delete', receiptHandle);
    this.#delete(receiptHandle);
  }

  async deleteBatch(receiptHandles: readonly string[]): Promise<BatchResult> {
    this.calls.deleteBatch += 1;
    await this.#intercepted('deleteBatch', receiptHandles);
    return eachEntry(receiptHandles, (handle) => this.#delete(handle));
  }

  async changeVisibility(change: VisibilityChange): Promise<void> {
    this.calls.changeVisibility += 1;
    await this.#intercepted('changeVisibility', change);
    this.#changeVisibility(change);
  }

  async changeVisibilityBatch(changes: readonly VisibilityChange[]): Promise<BatchResult> {
    this.calls.changeVisibilityBatch += 1;
    await this.#intercepted('changeVisibilityBatch', changes);
    return eachEntry(changes, (change) => this.#changeVisibility(change));
  }

  async send(message: OutgoingMessage): Promise<string> {
    this.calls.send += 1;
    await this.#intercepted('send', message);
    checkOutgoing(message, this.fifo);
    const now = this.#clock.now();
    const dedupId = this.fifo ? this.#deduplicationId(message) : undefined;
    const prior = dedupId === undefined ? undefined : this.#dedup.get(dedupId);
    if (prior && now - prior.at < DEDUPLICATION_WINDOW_MS) return prior.messageId;
    const messageId = randomUUID();
    if (dedupId !== undefined) this.#dedup.set(dedupId, { messageId, at: now });
    this.#entries.set(messageId, {
      messageId,
      body: message.body,
      attributes: copyAttributes(message.attributes ?? {}),
      groupId: message.groupId,
      sentAt: now,
      receiveCount: 0,
      firstReceivedAt: undefined,
      receivedAt: 0,
      visibleAt: now + (message.delaySeconds ?? 0) * 1000,
    });
    this.#notify();
    return messageId;
  }

  /** Messages now visible, in flight (received, not yet visible again) and delayed (never received). */
  counts(): { visible: number; inFlight: number; delayed: number } {
    const counts = { visible: 0, inFlight: 0, delayed: 0 };
    const now = this.#clock.now();
    for (const entry of this.#entries.values()) counts[stateOf(entry, now)] += 1;
    return counts;
  }

  /** Every stored message in queue order, without receiving any. */
  peek(): StoredMessage[] {
    const now = this.#clock.now();
    return [...this.#entries.values()].map((e) => ({
      ...view(e),
      state: stateOf(e, now),
      visibleAt: e.visibleAt,
    }));
  }

  /** Runs `fn` before every call of `operation` (a fault, a slow answer); returns its remover. */
  intercept<O extends QueueOperation>(operation: O, fn: Interceptor<O>): () => void {
    const set = this.#interceptors.get(operation) ?? new Set();
    this.#interceptors.set(operation, set);
    const entry = fn as Interceptor<QueueOperation>;
    set.add(entry);
    return () => void set.delete(entry);
  }

  async #intercepted<O extends QueueOperation>(
    operation: O,
    args: QueueOperationArgs[O],
    signal?: AbortSignal,
  ) {
    for (const fn of [...(this.#interceptors.get(operation) ?? [])]) {
      const pending = fn(args);
      if (pending) await (signal ? untilAborted(pending, signal) : pending);
    }
  }

  /**
   * Takes up to `max` visible messages in queue order. FIFO: a group with a message in flight, or
   * whose head is not visible, gives nothing; a redriven head lets the next of its group through.
   */
  #take(max: number, visibilityTimeoutSeconds: number, now: number): ReceivedMessage[] {
    const blocked = new Set<string | undefined>();
    if (this.fifo) for (const e of this.#entries.values()) if (now < e.visibleAt) blocked.add(e.groupId);
    const taken: ReceivedMessage[] = [];
    for (const entry of [...this.#entries.values()]) {
      if (taken.length >= max) break;
      if ((this.fifo && blocked.has(entry.groupId)) || now < entry.visibleAt) continue;
      const redrive = this.#options.redrive;
      if (redrive && entry.receiveCount >= redrive.maxReceiveCount) {
        this.#entries.delete(entry.messageId);
        redrive.deadLetter.#accept(entry, now);
        continue;
      }
      entry.receiveCount += 1;
      entry.firstReceivedAt ??= now;
      entry.receivedAt = now;
      entry.visibleAt = now + visibilityTimeoutSeconds * 1000;
      taken.push({
        ...view(entry),
        receiptHandle: encodeHandle(this.name, entry.messageId, entry.receiveCount),
      });
    }
    return taken;
  }

  /** A message moved here by redrive: same id, body, attributes and sent time, visible now. */
  #accept(entry: Entry, now: number): void {
    this.#entries.set(entry.messageId, { ...entry, visibleAt: now });
    this.#notify();
  }

  /**
   * SQS: the latest handle deletes the message (FIFO: only while in flight); an older handle of a
   * message received again succeeds without deleting it (FIFO: fails); a deleted message's handle
   * succeeds; a handle SQS never issued is ReceiptHandleIsInvalid.
   */
  #delete(receiptHandle: string): void {
    const { entry, current } = this.#resolve(receiptHandle);
    if (!entry) return;
    if (this.fifo && !(current && stateOf(entry, this.#clock.now()) === 'inFlight')) {
      throw invalid('ReceiptHandle', receiptHandle, 'The receipt handle has expired.');
    }
    if (!current) return;
    this.#entries.delete(entry.messageId);
    this.#notify(); // a FIFO group may be free now
  }

  /**
   * SQS: the latest handle of a message in flight changes its timeout, counted from now and capped
   * at 12 hours after its receive; the latest handle of a message visible again is a no-op (AWS
   * answers OK); the handle of a deleted message or of an earlier receive is InvalidParameterValue.
   */
  #changeVisibility(change: VisibilityChange): void {
    checkVisibility(change.visibilityTimeoutSeconds, 'VisibilityTimeout');
    const { entry, current } = this.#resolve(change.receiptHandle);
    if (!entry || !current) throw invalid('ReceiptHandle', change.receiptHandle, STALE_HANDLE);
    const now = this.#clock.now();
    if (stateOf(entry, now) !== 'inFlight') return;
    const visibleAt = now + change.visibilityTimeoutSeconds * 1000;
    if (visibleAt > entry.receivedAt + QUEUE_LIMITS.maxVisibilityTimeoutSeconds * 1000) {
      throw invalid('VisibilityTimeout', change.visibilityTimeoutSeconds, 'Over 43200 s since the receive.');
    }
    entry.visibleAt = visibleAt;
    this.#notify(); // waiting long polls recompute when the next message becomes visible
  }

  #resolve(receiptHandle: string): { entry: Entry | undefined; current: boolean } {
    const handle = decodeHandle(receiptHandle);
    if (!handle || handle.queue !== this.name) {
      throw new QueueError('ReceiptHandleIsInvalid', `The receipt handle "${receiptHandle}" is not valid.`);
    }
    const entry = this.#entries.get(handle.messageId);
    return { entry, current: entry?.receiveCount === handle.receive };
  }

  #deduplicationId(message: OutgoingMessage): string {
    const now = this.#clock.now();
    for (const [id, seen] of this.#dedup) {
      if (now - seen.at < DEDUPLICATION_WINDOW_MS) break;
      this.#dedup.delete(id);
    }
    if (message.deduplicationId !== undefined) return message.deduplicationId;
    if (!this.#options.contentBasedDeduplication)
      throw invalid('MessageDeduplicationId', undefined, NO_DEDUP);
    return createHash('sha256').update(message.body).digest('hex');
  }

  #notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * Resolves on a change (send, release, delete), when the next message becomes visible, or at the
   * deadline; "next" counts from `now`, the instant the queue was last looked at.
   */
  #changeOrTimeout(deadline: number, signal: AbortSignal | undefined, now: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let next = deadline;
      for (const e of this.#entries.values()) if (e.visibleAt > now) next = Math.min(next, e.visibleAt);
      const settle = (error?: unknown) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const wake = () => settle();
      const onAbort = () => settle(signal && abortError(signal));
      const timer = setTimeout(wake, Math.max(0, next - this.#clock.now()));
      this.#waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function view(e: Entry): Omit<ReceivedMessage, 'receiptHandle'> {
  const { messageId, body, groupId, receiveCount, sentAt, firstReceivedAt } = e;
  const attributes = copyAttributes(e.attributes);
  return { messageId, body, attributes, groupId, receiveCount, sentAt, firstReceivedAt };
}

function stateOf(entry: Entry, now: number): StoredMessage['state'] {
  if (now >= entry.visibleAt) return 'visible';
  return entry.receiveCount === 0 ? 'delayed' : 'inFlight';
}
