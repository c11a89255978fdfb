import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { ObservableRuntime, ObservableStoreCircuit } from '../core/events.js';
import { pollErrorReason } from './observe.js';
import type { TableStatus, TableStatusSink } from '../core/events.js';

export interface Check {
  readonly ok: boolean;
  /** What is wrong, when the check failed (or a note when it passed). */
  readonly detail?: string;
}

export interface HealthReport {
  readonly ok: boolean;
  /** Each check by name; `detail` says what is wrong when it failed. */
  readonly checks: Readonly<Record<string, Check>>;
}

/** What the monitor reads from the consumer: state the runtime keeps anyway, never an AWS call. */
export interface ConsumerState {
  readonly running: boolean;
  readonly inFlight: number;
  /** Epoch ms of the last successful receive. */
  readonly lastPollAt: number | undefined;
}

export interface HealthOptions {
  readonly clock: Clock;
  readonly waitTimeSeconds: number;
  /** 0: handlers have no time limit. */
  readonly handlerTimeoutMs: number;
  /** SQS_VISIBILITY_TIMEOUT: another worker's lease lasts up to 4/3 of it past its handler; default 0. */
  readonly visibilityTimeoutSeconds?: number;
  readonly maxInFlight: number;
  readonly maxPollFailures: number;
}

export type Phase = 'starting' | 'running' | 'draining';

/**
 * Slack on top of one long poll and one handler run before a silent consumer counts as stalled:
 * sqs-consumer pauses 10 s after a connection error, and the SDK retries a call up to 3 times.
 */
export const STALL_GRACE_MS = 60_000;

/**
 * Liveness and readiness from the state the worker keeps. Fed by runtime events (see
 * watchRuntime) and by the app (phase, table); probes only read.
 *
 * Liveness asks "is this process wedged?": it fails only when the consumer runs and has not
 * finished a receive, successful or not, for longer than stallBoundMs(). An SQS or DynamoDB
 * outage is a readiness matter: restarting every pod would not cure it.
 */
export class HealthMonitor implements TableStatusSink {
  readonly #o: HealthOptions;
  #consumer: ConsumerState | undefined;
  #phase: Phase = 'starting';
  #table: TableStatus = { ok: false, reason: 'unreachable', detail: 'not checked yet' };
  /** When the last receive finished, on the monotonic clock (a wall-clock step is no stall). */
  #lastCycleAt: number | undefined;
  #failuresInARow = 0;
  #lastFailureReason: string | undefined;
  #circuit: ObservableStoreCircuit | undefined;

  constructor(options: HealthOptions) {
    this.#o = options;
  }

  get table(): TableStatus {
    return this.#table;
  }

  setConsumer(consumer: ConsumerState): void {
    this.#consumer = consumer;
  }

  /** The store's circuit breaker: while open, receiving is paused (readiness fails, liveness holds). */
  setStoreCircuit(circuit: ObservableStoreCircuit): void {
    this.#circuit = circuit;
  }

  /** Receiving resumes after a pause: the stall bound counts from now, not from the last receive. */
  receivingResumed(): void {
    if (this.#lastCycleAt !== undefined) this.#lastCycleAt = this.#o.clock.monotonic();
  }

  setPhase(phase: Phase): void {
    this.#phase = phase;
  }

  setTable(status: TableStatus): void {
    this.#table = status;
  }

  pollSucceeded(): void {
    this.#lastCycleAt = this.#o.clock.monotonic();
    this.#failuresInARow = 0;
  }

  pollFailed(error: unknown): void {
    this.#lastCycleAt = this.#o.clock.monotonic();
    this.#failuresInARow += 1;
    this.#lastFailureReason = pollErrorReason(error);
  }

  /**
   * Longest a running consumer may go without finishing a receive: one long poll, plus what a
   * full consumer waits for a slot (a delivery may first wait for another worker's claim, which
   * lasts at most that worker's handler run and a lease, and then runs its own handler, whose
   * HANDLER_TIMEOUT starts only then), plus STALL_GRACE_MS.
   */
  stallBoundMs(): number {
    const { waitTimeSeconds, handlerTimeoutMs, visibilityTimeoutSeconds = 0 } = this.#o;
    // Another worker's lease lasts at most V + V/3 past its last renewal (worker/lease.ts).
    const leaseMs = (visibilityTimeoutSeconds * 1000 * 4) / 3;
    const slotMs = handlerTimeoutMs > 0 ? 2 * handlerTimeoutMs + leaseMs : 0;
    return waitTimeSeconds * 1000 + slotMs + STALL_GRACE_MS;
  }

  liveness(): HealthReport {
    const checks = { consumer: this.#consumerCheck() };
    return { ok: checks.consumer.ok, checks };
  }

  #consumerCheck(): Check {
    const consumer = this.#consumer;
    if (!consumer?.running || this.#lastCycleAt === undefined) return { ok: true };
    const silentMs = this.#o.clock.monotonic() - this.#lastCycleAt;
    if (silentMs <= this.stallBoundMs()) return { ok: true };
    // Paused on purpose: a restart would not bring the store back.
    if (this.#circuit?.open) return { ok: true, detail: 'receiving paused: the idempotency store fails' };
    if (this.#o.handlerTimeoutMs === 0 && consumer.inFlight >= this.#o.maxInFlight) {
      // Without a handler timeout a full consumer may wait on its handlers for as long as they run.
      return { ok: true, detail: `saturated: ${consumer.inFlight} messages in flight, no handler timeout` };
    }
    return {
      ok: false,
      detail: `stalled: no receive finished for ${Math.round(silentMs / 1000)} s (bound ${Math.round(this.stallBoundMs() / 1000)} s)`,
    };
  }

  readiness(): HealthReport {
    const checks: Record<string, Check> = {
      lifecycle: this.#phase === 'running' ? { ok: true } : { ok: false, detail: this.#phase },
      table: this.#table.ok ? { ok: true } : { ok: false, detail: this.#table.detail },
      poll: this.#pollCheck(),
      ...(this.#circuit ? { store: this.#storeCheck(this.#circuit) } : {}),
    };
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  }

  #storeCheck(circuit: ObservableStoreCircuit): Check {
    if (!circuit.open) return { ok: true };
    const since =
      circuit.openedAt === undefined
        ? ''
        : ` for ${Math.round((this.#o.clock.now() - circuit.openedAt) / 1000)} s`;
    const last = circuit.lastError === undefined ? '' : ` (last: ${describeError(circuit.lastError)})`;
    return {
      ok: false,
      detail: `receiving paused${since}: the idempotency store fails, probing until it answers${last}`,
    };
  }

  #pollCheck(): Check {
    if (this.#failuresInARow >= this.#o.maxPollFailures) {
      return {
        ok: false,
        detail: `${this.#failuresInARow} receive failures in a row (${this.#lastFailureReason ?? 'other'})`,
      };
    }
    if (this.#consumer?.lastPollAt === undefined) {
      return { ok: false, detail: 'no successful receive from the queue yet' };
    }
    return { ok: true };
  }
}

/** Feeds a monitor from the store's circuit breaker. */
export function watchStoreCircuit(circuit: ObservableStoreCircuit, health: HealthMonitor): void {
  health.setStoreCircuit(circuit);
  circuit.on('store_circuit_closed', () => health.receivingResumed());
}

/** Feeds a monitor from the runtime's events. */
export function watchRuntime(runtime: ObservableRuntime, health: HealthMonitor): void {
  health.setConsumer(runtime);
  runtime.on('poll_succeeded', () => health.pollSucceeded());
  runtime.on('poll_failed', (error) => health.pollFailed(error));
}
