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

/**
 * The idempotency store's circuit breaker (worker/store-gate.ts): receiving pauses while the store
 * fails, so an outage spends no receive counts. Logs and metrics come from these events
 * (observability/observe.ts), readiness from its state (observability/health.ts).
 */
export interface StoreCircuitEvents {
  /** Receiving paused: `failures` store calls in a row failed, the last with `error`. */
  store_circuit_opened: [failures: number, error: unknown];
  /** Receiving resumes after `pausedMs`: a probe answered, or a store call made meanwhile succeeded. */
  store_circuit_closed: [pausedMs: number, by: 'probe' | 'call'];
  /** A probe made while open failed or timed out; the next waits longer. */
  store_probe_failed: [error: unknown];
}

/** The breaker as observers see it: its state and its events. */
export interface ObservableStoreCircuit {
  /** True while receiving is paused because the store fails. */
  readonly open: boolean;
  /** Epoch ms at which it opened, while open. */
  readonly openedAt: number | undefined;
  /** The error that opened it, or the latest probe's, while open. */
  readonly lastError: unknown;
  on<K extends keyof StoreCircuitEvents>(
    event: K,
    listener: (...args: StoreCircuitEvents[K]) => void,
  ): unknown;
}
