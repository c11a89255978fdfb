import type { WorkerMessage } from '../core/message.js';
import type { Queue, ReceivedMessage } from '../core/queue.js';
import { toVisibilitySeconds } from './backoff.js';
import type { SettlePlan } from './settle-policy.js';

/**
 * The SQS calls that end a delivery, as the policy (settle-policy.ts) planned them: delete, make
 * visible again, or copy to the dead-letter queue and then delete. Rejects when a call fails; the
 * message then stays in the source queue and comes back when its visibility lapses.
 */
export class Settler {
  readonly #queue: Queue;
  readonly #deadLetters: Queue | undefined;

  constructor(queue: Queue, deadLetters: Queue | undefined) {
    this.#queue = queue;
    this.#deadLetters = deadLetters;
  }

  get hasDeadLetterQueue(): boolean {
    return this.#deadLetters !== undefined;
  }

  async settle(received: ReceivedMessage, message: WorkerMessage, plan: SettlePlan): Promise<void> {
    const receiptHandle = received.receiptHandle;
    switch (plan.action) {
      case 'delete':
        return this.#queue.delete(receiptHandle);
      case 'release':
        return this.#queue.changeVisibility({
          receiptHandle,
          visibilityTimeoutSeconds: toVisibilitySeconds(plan.delayMs),
        });
      case 'dead_letter':
        return this.#deadLetter(received, message, plan.attributes);
    }
  }

  /** The original is deleted only once the copy is safely in the dead-letter queue. */
  async #deadLetter(
    received: ReceivedMessage,
    message: WorkerMessage,
    attributes: Extract<SettlePlan, { action: 'dead_letter' }>['attributes'],
  ): Promise<void> {
    if (!this.#deadLetters) throw new Error('no dead-letter queue: the source queue has no redrive policy');
    await this.#deadLetters.send({
      body: received.body,
      attributes,
      ...(message.groupId === undefined
        ? {}
        : { groupId: message.groupId, deduplicationId: message.messageId }),
    });
    await this.#queue.delete(received.receiptHandle);
  }
}
