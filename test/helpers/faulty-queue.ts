import { QueueError } from '../../src/testing/memory-queue-rules.js';
import type {
  BatchFailure,
  BatchResult,
  OutgoingMessage,
  Queue,
  ReceiveRequest,
  ReceivedMessage,
  VisibilityChange,
} from '../../src/core/queue.js';

/** What a FaultyQueue refuses: each rule, when it returns an error, fails that call with it. */
export interface QueueFaults {
  delete?: (receiptHandle: string) => Error | undefined;
  send?: (message: OutgoingMessage) => Error | undefined;
}

/**
 * A Queue in front of another (the in-memory twin, say) that fails chosen calls, as SQS does on a
 * bad day: deletes refused, sends refused as too large. Everything else passes through. A failed
 * delete in a batch is reported as that entry's failure, the rest deleted.
 */
export class FaultyQueue implements Queue {
  readonly faults: QueueFaults = {};
  /** Sends the inner queue accepted. */
  sent = 0;
  /** Every visibility change asked for, single or batched. */
  readonly changes: VisibilityChange[] = [];
  readonly #inner: Queue;

  constructor(inner: Queue) {
    this.#inner = inner;
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

  async delete(receiptHandle: string): Promise<void> {
    const error = this.faults.delete?.(receiptHandle);
    if (error) throw error;
    return this.#inner.delete(receiptHandle);
  }

  async deleteBatch(receiptHandles: readonly string[]): Promise<BatchResult> {
    const failed: BatchFailure[] = [];
    const passed: string[] = [];
    receiptHandles.forEach((handle, index) => {
      const error = this.faults.delete?.(handle);
      if (error) failed.push({ index, code: error.name, message: error.message });
      else passed.push(handle);
    });
    const inner = await this.#inner.deleteBatch(passed);
    const index = (i: number) => receiptHandles.indexOf(passed[i] as string);
    return { failed: [...failed, ...inner.failed.map((f) => ({ ...f, index: index(f.index) }))] };
  }

  changeVisibility(change: VisibilityChange): Promise<void> {
    this.changes.push(change);
    return this.#inner.changeVisibility(change);
  }

  changeVisibilityBatch(changes: readonly VisibilityChange[]): Promise<BatchResult> {
    this.changes.push(...changes);
    return this.#inner.changeVisibilityBatch(changes);
  }

  async send(message: OutgoingMessage): Promise<string> {
    const error = this.faults.send?.(message);
    if (error) throw error;
    const id = await this.#inner.send(message);
    this.sent += 1;
    return id;
  }
}

export function queueError(code: string, message = `${code} (injected)`): Error {
  return new QueueError(code, message);
}
