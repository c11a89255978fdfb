/**
 * How a one-shot command gives up on a service that does not answer (issue 21: `consume --count
 * 2` against an SQS that went away was still retrying 39 minutes later).
 *
 * Every call a command's SQS and DynamoDB clients make passes through a middleware (outside the
 * SDK's retries) that tells this watch whether the service answered. A service has "not answered
 * since" the earliest moment a call was owed an answer and none came: a call that failed without
 * an HTTP answer (refused, reset, timed out), or one still waiting past its due time (a long poll
 * is due only after its WaitTimeSeconds). Any answer, an error status included (the service is
 * there), clears it. Once a service has not answered for `boundMs`, `gaveUp` resolves with an
 * error naming it and its endpoint, and the command exits 1.
 *
 *   call A ──────x refused        call B ──x        (no answer)          ▲ give up
 *   |<─────────────────────── boundMs ─────────────────────────────────>|
 *   since = A's start (its due time)
 */

import { WorkerError } from '../core/errors.js';

export type Service = 'SQS' | 'DynamoDB';

/** The bound when `--give-up` is not given, in seconds. */
export const DEFAULT_GIVE_UP_SECONDS = 30;

/** A service that has not answered for the bound: the command gives up. */
export class UnreachableError extends WorkerError {
  readonly service: Service;
  readonly endpoint: string;

  constructor(service: Service, endpoint: string, boundMs: number, lastError: string | undefined) {
    const last = lastError === undefined ? '' : ` (last error: ${lastError})`;
    super(
      'ERR_UNREACHABLE',
      `${service} at ${endpoint} did not answer for ${boundMs / 1000} s${last}; gave up (--give-up S sets how long)`,
    );
    this.service = service;
    this.endpoint = endpoint;
  }
}

/** The timers the watch uses: the real ones, or jest's fake ones in tests. */
export interface WatchTimers {
  readonly now: () => number;
  readonly setInterval: (run: () => void, ms: number) => { unref?: () => unknown };
  readonly clearInterval: (timer: never) => void;
}

const REAL_TIMERS: WatchTimers = {
  now: () => performance.now(),
  setInterval: (run, ms) => setInterval(run, ms),
  clearInterval: (timer) => clearInterval(timer),
};

/** The part of an SDK client the watch needs: its middleware stack. */
export interface WatchedClient {
  readonly middlewareStack: { add(middleware: never, options: { step: 'initialize'; name: string }): void };
}

interface ServiceState {
  readonly service: Service;
  readonly endpoint: string;
  /** Due times of the calls waiting for an answer. */
  readonly pending: Set<{ due: number }>;
  /** The due time of the first call since the last answer that failed without one. */
  failedSince: number | undefined;
  lastError: string | undefined;
}

export class ReachabilityWatch {
  readonly boundMs: number;
  /** Resolves when a service has not answered for the bound; never rejects. */
  readonly gaveUp: Promise<UnreachableError>;
  readonly #timers: WatchTimers;
  readonly #states: ServiceState[] = [];
  readonly #timer: { unref?: () => unknown };
  #resolve: (error: UnreachableError) => void = () => {};
  #done = false;

  constructor(boundMs: number, timers: WatchTimers = REAL_TIMERS) {
    this.boundMs = boundMs;
    this.#timers = timers;
    this.gaveUp = new Promise((resolve) => (this.#resolve = resolve));
    this.#timer = timers.setInterval(() => this.#check(), Math.max(10, Math.min(1000, boundMs / 10)));
    this.#timer.unref?.();
  }

  /** Watches every call of `client` (a service's SQSClient or DynamoDBClient). */
  watch(client: WatchedClient, service: Service, endpoint: string): void {
    const state: ServiceState = {
      service,
      endpoint,
      pending: new Set(),
      failedSince: undefined,
      lastError: undefined,
    };
    this.#states.push(state);
    type Next = (args: { input: unknown }) => Promise<unknown>;
    const middleware = (next: Next) => async (args: { input: unknown }) => {
      const call = { due: this.#timers.now() + longPollWaitMs(args.input) };
      state.pending.add(call);
      try {
        const result = await next(args);
        this.#answered(state);
        return result;
      } catch (error) {
        if (wasAnswered(error)) this.#answered(state);
        else if (!isAbort(error)) {
          state.failedSince = Math.min(state.failedSince ?? call.due, call.due);
          state.lastError = error instanceof Error ? error.message : String(error);
        }
        throw error;
      } finally {
        state.pending.delete(call);
      }
    };
    client.middlewareStack.add(middleware as never, { step: 'initialize', name: 'reachabilityWatch' });
  }

  /** Stops the periodic check. */
  dispose(): void {
    this.#done = true;
    this.#timers.clearInterval(this.#timer as never);
  }

  #answered(state: ServiceState): void {
    state.failedSince = undefined;
    state.lastError = undefined;
  }

  #check(): void {
    if (this.#done) return;
    const now = this.#timers.now();
    for (const state of this.#states) {
      let since = state.failedSince ?? Number.POSITIVE_INFINITY;
      for (const call of state.pending) since = Math.min(since, call.due);
      if (now - since < this.boundMs) continue;
      this.dispose();
      this.#resolve(new UnreachableError(state.service, state.endpoint, this.boundMs, state.lastError));
      return;
    }
  }
}

/** An SDK error that carries an HTTP status came from the service: it is there. */
function wasAnswered(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata
    ?.httpStatusCode;
  return typeof status === 'number';
}

/** A call the command itself aborted says nothing about the service. */
function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** A ReceiveMessage's long-poll wait, in ms (0 for any other call): the answer is due after it. */
function longPollWaitMs(input: unknown): number {
  const wait = (input as { WaitTimeSeconds?: unknown } | undefined)?.WaitTimeSeconds;
  return typeof wait === 'number' && Number.isFinite(wait) ? wait * 1000 : 0;
}
