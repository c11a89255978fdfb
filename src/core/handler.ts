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
