import { systemClock, type Clock } from '../core/clock.js';
import { WorkerError, describeError } from '../core/errors.js';
import type { WorkerMessage } from '../core/message.js';
import type { MessageAttributes, Queue, ReceivedMessage } from '../core/queue.js';
import { toVisibilitySeconds } from './backoff.js';
import { producerAttributes, type SettlePlan } from './settle-policy.js';

/** The dead-letter queue did not accept the copy: the message was not moved (and stays in its queue). */
export class DeadLetterCopyError extends WorkerError {
  constructor(cause: unknown) {
    super('ERR_DEAD_LETTER_COPY', `the dead-letter queue refused the copy: ${describeError(cause)}`, {
      cause,
    });
  }
}

/** Records on the key's DEAD_LETTERED record that the dead-letter queue accepted copy `copyId`. */
export type MarkDeadLettered = (pk: string, copyId: string) => Promise<boolean>;

/**
 * The SQS calls that end a delivery, as the policy (settle-policy.ts) planned them: delete, make
 * visible again, or copy to the dead-letter queue and then delete. Rejects when a call fails; the
 * message then stays in the source queue and comes back when its visibility lapses.
 */
export class Settler {
  readonly #queue: Queue;
  readonly #deadLetters: Queue | undefined;
  readonly #mark: MarkDeadLettered;
  readonly #deleteRetriesMs: readonly number[];
  readonly #clock: Clock;

  /**
   * `deleteRetriesMs`: the waits before each retry of a delete that failed (a 5xx, a failed batch
   * entry). A message whose delete keeps failing comes back, and each receive spends one of its
   * receive counts: SQS's redrive would in the end move a message that was handled to the
   * dead-letter queue. Keep their sum well inside the visibility timeout (deleteRetryDelays).
   * `clock`: whose timers those waits run on.
   */
  constructor(
    queue: Queue,
    deadLetters: Queue | undefined,
    mark: MarkDeadLettered = async () => false,
    deleteRetriesMs: readonly number[] = [],
    clock: Clock = systemClock,
  ) {
    this.#queue = queue;
    this.#deadLetters = deadLetters;
    this.#mark = mark;
    this.#deleteRetriesMs = deleteRetriesMs;
    this.#clock = clock;
  }

  get hasDeadLetterQueue(): boolean {
    return this.#deadLetters !== undefined;
  }

  async settle(received: ReceivedMessage, message: WorkerMessage, plan: SettlePlan): Promise<void> {
    const receiptHandle = received.receiptHandle;
    switch (plan.action) {
      case 'delete':
        return this.#delete(receiptHandle);
      case 'release':
        return this.#queue.changeVisibility({
          receiptHandle,
          visibilityTimeoutSeconds: toVisibilitySeconds(plan.delayMs),
        });
      case 'dead_letter':
        return this.#deadLetter(received, message, plan);
    }
  }

  /**
   * The original is deleted only once the copy is safely in the dead-letter queue, and, when the
   * key's record is DEAD_LETTERED (plan.recorded), only once the record says which copy that is:
   * a redelivery after a failed delete then only deletes (pipeline.ts), so the queue gets one copy.
   *
   *   record DEAD_LETTERED ── send copy ── record the copy's id ── delete the original
   *   (pipeline)              │ refused: DeadLetterCopyError, nothing moved, message comes back
   *                           │ refused as invalid (too large with our attributes): sent again with
   *                           │ the producer's attributes only; the reason stays in the record
   */
  async #deadLetter(
    received: ReceivedMessage,
    message: WorkerMessage,
    plan: Extract<SettlePlan, { action: 'dead_letter' }>,
  ): Promise<void> {
    const copyId = await this.#copy(received, message, plan);
    let marking: unknown;
    if (plan.recorded !== undefined) {
      marking = await this.#mark(plan.recorded, copyId).then(
        () => undefined,
        (error: unknown) => error ?? new Error('marking the record failed'),
      );
    }
    await this.#delete(received.receiptHandle);
    if (marking !== undefined) throw marking;
  }

  /** Deletes, trying again after each of the delete retry waits while SQS fails (not for a stale handle). */
  async #delete(receiptHandle: string): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.#queue.delete(receiptHandle);
      } catch (error) {
        const waitMs = this.#deleteRetriesMs[attempt];
        if (waitMs === undefined || staleHandle(error)) throw error;
        await this.#clock.sleep(waitMs);
      }
    }
  }

  /** Sends the copy; resolves with the MessageId the dead-letter queue gave it. */
  async #copy(
    received: ReceivedMessage,
    message: WorkerMessage,
    plan: Extract<SettlePlan, { action: 'dead_letter' }>,
  ): Promise<string> {
    const deadLetters = this.#deadLetters;
    if (!deadLetters) throw new DeadLetterCopyError(new Error('the source queue has no redrive policy'));
    const send = (attributes: MessageAttributes) =>
      deadLetters.send({
        body: received.body,
        attributes,
        ...(message.groupId === undefined
          ? {}
          : { groupId: message.groupId, deduplicationId: message.messageId }),
      });
    try {
      return await send(plan.attributes);
    } catch (error) {
      // The original fitted its queue with its own attributes; the copy adds ours, which can
      // push a body near the limit over it. Then the copy goes without ours: the key's record
      // (when there is one) keeps the reason, and `dlq show` reads it there.
      if (!refusedAsInvalid(error) || plan.recorded === undefined) throw new DeadLetterCopyError(error);
    }
    try {
      return await send(producerAttributes(received));
    } catch (error) {
      throw new DeadLetterCopyError(error);
    }
  }
}

/** SQS refused the request itself (too large, an attribute it does not take), not a fault on its side. */
function refusedAsInvalid(error: unknown): boolean {
  const name = error instanceof Error ? error.name : '';
  return name === 'InvalidParameterValue' || name === 'InvalidMessageContents' || name === 'MessageTooLong';
}

/** A receipt handle SQS no longer takes: trying again cannot help. */
function staleHandle(error: unknown): boolean {
  const name = error instanceof Error ? error.name : '';
  return name === 'ReceiptHandleIsInvalid' || name === 'InvalidReceiptHandle';
}

/**
 * The waits before each retry of a failed delete: 250 ms doubling, all of them within half the
 * visibility timeout (what is left of the message's visibility after its last extension, at the
 * least, is two thirds of it).
 */
export function deleteRetryDelays(visibilityTimeoutSeconds: number): number[] {
  const budget = (visibilityTimeoutSeconds * 1000) / 2;
  const delays: number[] = [];
  for (let wait = 250, total = 250; total <= budget; wait *= 2, total += wait) delays.push(wait);
  return delays;
}
