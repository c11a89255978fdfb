import type { Claim } from '../core/idempotency-store.js';
import type { IdempotencyService } from '../core/idempotency.js';
import type { Queue } from '../core/queue.js';

export interface HeartbeatOptions {
  readonly queue: Queue;
  readonly receiptHandle: string;
  readonly visibilityTimeoutSeconds: number;
  readonly idempotency: IdempotencyService;
  /** The claim turned out lost: another worker took the key over. */
  readonly onLeaseLost: () => void;
  readonly onError: (error: unknown) => void;
}

/** Shortest beat, so a tiny visibility timeout cannot turn the heartbeat into a busy loop. */
export const MIN_BEAT_MS = 500;

/**
 * One timer per message, from receipt until settled: every half visibility timeout it extends the
 * message's visibility and, once the key is claimed, renews the claim's lease in the same beat.
 * The lease length equals the visibility timeout, so both lapse together if the worker dies.
 */
export class Heartbeat {
  readonly #o: HeartbeatOptions;
  readonly #timer: NodeJS.Timeout;
  #claim: Claim | undefined;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
    const everyMs = Math.max(MIN_BEAT_MS, (options.visibilityTimeoutSeconds * 1000) / 2);
    this.#timer = setInterval(() => void this.#beat(), everyMs).unref();
  }

  /** From now on the beat also renews this claim. */
  hold(claim: Claim): void {
    this.#claim = claim;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #beat(): Promise<void> {
    const claim = this.#claim;
    try {
      const [, kept] = await Promise.all([
        this.#o.queue.changeVisibility({
          receiptHandle: this.#o.receiptHandle,
          visibilityTimeoutSeconds: this.#o.visibilityTimeoutSeconds,
        }),
        claim ? this.#o.idempotency.renew(claim) : Promise.resolve(true),
      ]);
      if (!kept) this.#o.onLeaseLost();
    } catch (error) {
      this.#o.onError(error);
    }
  }
}
