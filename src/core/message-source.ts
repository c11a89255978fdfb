import type { ReceivedMessage } from './queue.js';

/** Back-pressure as a poller sees it: how much room there is, and a way to wait for some. */
export interface RoomGate {
  /** How many more messages may be taken in now; 0 once closed. */
  readonly room: number;
  /** Resolves with the room once there is some, or with 0 once closed (shutdown). */
  waitForRoom(): Promise<number>;
  /**
   * Reserves room for one receive, at most `full` and at least 1, once there is some: several
   * receives in flight never ask for the same room. Resolves with the count reserved, or 0 once
   * closed.
   */
  reserve(full: number): Promise<number>;
  /**
   * Gives a receive's reservation back. A poller calls it in the same synchronous step as it hands
   * the receive's messages to `received` (which takes them in), so the bound is never passed.
   */
  unreserve(count: number): void;
}

/**
 * Whether receives may start: the sources wait here before each one (after waiting for room).
 * The store's circuit breaker (worker/store-gate.ts) holds receiving while the store fails; a
 * receive already under way when it closes goes on.
 */
export interface ReceiveGate {
  /** True while no receive may start. */
  readonly paused: boolean;
  /** Resolves at once unless paused; otherwise once receiving may go on, or once `signal` aborts. */
  whenReceiving(signal: AbortSignal): Promise<void>;
}

/** Where a poller hands what it receives, and reports how receives went. */
export interface PollSink {
  readonly capacity: RoomGate;
  /** A receive returned these messages; called synchronously, before the next receive is asked for. */
  received(messages: readonly ReceivedMessage[]): void;
  /** A receive finished without error (with or without messages). */
  succeeded(): void;
  /** A receive returned no messages. */
  empty(): void;
  /** A receive failed (not counting one aborted by stop()). */
  failed(error: unknown): void;
}

/**
 * The receive loop, as the runtime sees it. Two implementations: `QueuePoller`
 * (test/helpers/queue-poller.ts, over any Queue; what tests run on the in-memory queue) and
 * `SqsConsumerPoller` (aws/sqs-consumer-poller.ts, sqs-consumer on a real SQS queue). Both may run
 * several receives at once (RECEIVE_CONCURRENCY), and each asks for exactly what it reserved.
 */
export interface MessageSource {
  start(sink: PollSink): void;
  /** Aborts a long poll in progress; resolves once no receive is running or will start. */
  stop(): Promise<void>;
  /**
   * Epoch ms until which a message made visible now could still be taken by the long poll that
   * stop() aborted: real servers may answer an aborted poll, and the message goes to a connection
   * nobody reads (seen with fauxqs, reported for SQS). 0 when no poll was aborted.
   */
  readonly quietUntil: number;
}

/** Pause after failed receives: base * 2^(failures-1), at most max. */
export interface FailureBackoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Slack past an aborted poll's wait time before its server side is surely over. */
export const ABORTED_POLL_SLACK_MS = 100;

/** The pause after `failures` receive failures in a row. */
export function failurePauseMs(failures: number, backoff: FailureBackoff): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(Math.max(failures, 1) - 1, 30));
}
