import { systemClock, type Clock, type Timer } from '../core/clock.js';
import {
  QUEUE_LIMITS,
  type BatchResult,
  type OutgoingMessage,
  type Queue,
  type ReceiveRequest,
  type ReceivedMessage,
  type VisibilityChange,
} from '../core/queue.js';

/** A batch entry's failure, as the single call would have rejected. */
export class BatchEntryError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = code;
    this.code = code;
  }
}

interface Pending<T> {
  readonly entry: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers entries of one kind and sends them as batch calls: at once when 10 are waiting (or once
 * the queue stops delaying), else after `delayMs`. Each caller's promise settles with its own
 * entry's result: a failed entry is never reported as done, and one failure does not fail the
 * others.
 */
class Batcher<T> {
  readonly #send: (entries: readonly T[]) => Promise<BatchResult>;
  readonly #delayMs: number;
  readonly #clock: Clock;
  #pending: Pending<T>[] = [];
  #timer: Timer | undefined;
  /** Batch calls sent and not yet answered. */
  readonly #sending = new Set<Promise<void>>();
  #delaying = true;

  constructor(send: (entries: readonly T[]) => Promise<BatchResult>, delayMs: number, clock: Clock) {
    this.#send = send;
    this.#delayMs = delayMs;
    this.#clock = clock;
  }

  add(entry: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ entry, resolve, reject });
      if (this.#pending.length >= QUEUE_LIMITS.maxBatch || !this.#delaying) void this.flush();
      else this.#timer ??= this.#clock.setTimeout(() => void this.flush(), this.#delayMs);
    });
  }

  /** Sends what is waiting now; resolves once every batch call sent so far has its answer. */
  async flush(): Promise<void> {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0) {
      const sending = this.#sendBatch(this.#pending.splice(0, QUEUE_LIMITS.maxBatch));
      this.#sending.add(sending);
      void sending.finally(() => this.#sending.delete(sending));
    }
    await Promise.allSettled(this.#sending);
  }

  /** From now on nothing waits for the delay; what waits now is sent. */
  stopDelaying(): void {
    this.#delaying = false;
    void this.flush();
  }

  async #sendBatch(batch: Pending<T>[]): Promise<void> {
    let result: BatchResult;
    try {
      result = await this.#send(batch.map((p) => p.entry));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    const failed = new Map(result.failed.map((f) => [f.index, f]));
    batch.forEach((p, index) => {
      const failure = failed.get(index);
      if (failure) p.reject(new BatchEntryError(failure.code, failure.message));
      else p.resolve();
    });
  }
}

/**
 * A Queue whose deletes and visibility changes go out as DeleteMessageBatch and
 * ChangeMessageVisibilityBatch calls (SQS_BATCH_FLUSH_DELAY): the settles and heartbeats of many
 * messages cost a tenth of the requests. Receives and sends pass straight through.
 */
export class BatchingQueue implements Queue {
  readonly #inner: Queue;
  readonly #deletes: Batcher<string>;
  readonly #changes: Batcher<VisibilityChange>;

  /** `clock`: whose timers SQS_BATCH_FLUSH_DELAY runs on (default the system's). */
  constructor(inner: Queue, delayMs: number, clock: Clock = systemClock) {
    this.#inner = inner;
    this.#deletes = new Batcher((handles) => inner.deleteBatch(handles), delayMs, clock);
    this.#changes = new Batcher((changes) => inner.changeVisibilityBatch(changes), delayMs, clock);
  }

  get url(): string {
    return this.#inner.url;
  }

  get fifo(): boolean {
    return this.#inner.fifo;
  }

  receive(request: ReceiveRequest): Promise<ReceivedMessage[]> {
    return this.#inner.receive(request);
  }

  delete(receiptHandle: string): Promise<void> {
    return this.#deletes.add(receiptHandle);
  }

  deleteBatch(receiptHandles: readonly string[]): Promise<BatchResult> {
    return this.#inner.deleteBatch(receiptHandles);
  }

  changeVisibility(change: VisibilityChange): Promise<void> {
    return this.#changes.add(change);
  }

  changeVisibilityBatch(changes: readonly VisibilityChange[]): Promise<BatchResult> {
    return this.#inner.changeVisibilityBatch(changes);
  }

  send(message: OutgoingMessage): Promise<string> {
    return this.#inner.send(message);
  }

  /**
   * Sends whatever is waiting now; resolves once every batch call sent so far has its answer
   * (each entry's own promise says how it went). Never rejects. WorkerRuntime.stop() calls it last,
   * racing what is left of the shutdown budget.
   */
  async flush(): Promise<void> {
    await Promise.all([this.#deletes.flush(), this.#changes.flush()]);
  }

  /**
   * At stop: what waits is sent now, and every later delete or visibility change goes out at once,
   * so the drain never waits out SQS_BATCH_FLUSH_DELAY (nor does a release at stop).
   */
  stopDelaying(): void {
    this.#deletes.stopDelaying();
    this.#changes.stopDelaying();
  }
}
