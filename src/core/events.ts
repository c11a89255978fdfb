import type { Logger } from './logger.js';
import type { WorkerMessage } from './message.js';
import type { Processed } from './pipeline.js';

/** What happened to one delivery: the single source for outcome logs and metrics. */
export interface MessageEvent {
  readonly message: WorkerMessage;
  readonly processed: Processed;
  /** Receive to settled, milliseconds. */
  readonly durationMs: number;
  readonly logger: Logger;
}

/** What the SQS call that ended a delivery was. */
export type SettleOperation = 'delete' | 'release' | 'dead_letter';

/**
 * The runtime's typed events. Logs and metrics are made from these in one place
 * (observability/observe.ts), readiness in another (observability/health.ts).
 */
export interface RuntimeEvents {
  message_received: [message: WorkerMessage];
  message_settled: [event: MessageEvent];
  poll_succeeded: [];
  /** A receive returned no messages. */
  queue_empty: [];
  poll_failed: [error: unknown];
  /** An SQS call made after handling (delete, release, dead_letter) failed. */
  settle_failed: [message: WorkerMessage, operation: SettleOperation, error: unknown];
  /** The heartbeat found the claim taken over while the handler ran; the handler was aborted. */
  lease_lost: [message: WorkerMessage];
  heartbeat_failed: [message: WorkerMessage, error: unknown];
}

/** What observers read from the runtime: state it keeps anyway, never an AWS call. */
export interface RuntimeState {
  readonly running: boolean;
  readonly inFlight: number;
  /** Epoch ms of the last successful receive (or the start-up queue check). */
  readonly lastPollAt: number | undefined;
}

/** A runtime as observers see it: its state and its events. */
export interface ObservableRuntime extends RuntimeState {
  on<K extends keyof RuntimeEvents>(event: K, listener: (...args: RuntimeEvents[K]) => void): unknown;
}

/** What is known of the idempotency table: usable, or why not (readiness reports it). */
export type TableStatus =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'missing' | 'wrong_key' | 'unreachable'; readonly detail: string };

/** Where the table's status is kept (the health monitor). */
export interface TableStatusSink {
  readonly table: TableStatus;
  setTable(status: TableStatus): void;
}

/** Told about every idempotency store call, after it ends: how it ended, and the error when it threw. */
export type StoreListener = (operation: string, outcome: string, error?: unknown) => void;
