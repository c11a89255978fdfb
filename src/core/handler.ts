import type { Logger } from './logger.js';
import type { WorkerMessage } from './message.js';

/** What a handler gets besides the message. */
export interface HandlerContext {
  /** Aborted when the handler times out or the worker stops; pass it to fetch() and friends. */
  readonly signal: AbortSignal;
  /** Child logger carrying messageId and key. */
  readonly logger: Logger;
  /**
   * Grows with every claim of this key. Pass it to downstream writes (a conditional update
   * "only if fence > stored fence") so a worker whose lease was taken over cannot overwrite
   * the newer owner's effects.
   */
  readonly fencingToken: number;
  /** 1 on the first attempt at this key, then 2, 3, ... across redeliveries. */
  readonly attempt: number;
}

/**
 * The handler contract. Resolve to succeed (an optional small summary is stored with the record);
 * throw to fail: a PermanentError dead-letters the message, anything else is retried.
 */
export type Handler = (message: WorkerMessage, context: HandlerContext) => Promise<unknown> | unknown;

/** What handleBatch gets besides the messages. */
export interface BatchContext {
  /** Aborted as soon as any message's signal is (timeout, shutdown, lease lost): stop, all are retried. */
  readonly signal: AbortSignal;
  /** Each message's own context, in the order of the messages: its logger, fencing token, attempt. */
  readonly contexts: readonly HandlerContext[];
}

/**
 * One message's outcome in a batch: `{ error }` fails it as a throw would (a PermanentError
 * dead-letters it, anything else retries it); anything else succeeds, `result` (optional) stored
 * with its record.
 */
export type BatchOutcome = { readonly result?: unknown } | { readonly error: unknown };

/**
 * The batch handler contract (a module's `handleBatch`): messages whose keys this worker has just
 * claimed (duplicates never get here); returns one outcome per message, in the same order.
 * Throwing fails every message of the batch.
 */
export type BatchHandler = (
  messages: readonly WorkerMessage[],
  context: BatchContext,
) => Promise<readonly BatchOutcome[]> | readonly BatchOutcome[];
