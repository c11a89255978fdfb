import { describeError, WorkerError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/*
 * The life of the worker process, as one state machine:
 *
 *   created --start()--> starting --its plan resolved--> running --stop()--> stopping --> stopped
 *      |                    |  \--its plan failed: closes what it opened--> stopping --> stopped
 *      |                    \--stop(): cancels the plan at its next step--> stopping --> stopped
 *      \--stop(): nothing was opened, nothing to close------------------------------------> stopped
 *
 * The start plan opens each resource through `Opening`; each open registers its closer, and stop()
 * is the one place that closes them: once each, in reverse order of opening, every step within a
 * deadline. start() and stop() may each be called any number of times, at any moment.
 */

export type Phase = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/** How much of the stop's time one close may take. */
export interface CloseOptions {
  /** `rest`: all the stop's time left but its tail (the drain); default `step`: one step's time. */
  readonly budget?: 'rest' | 'step';
  /** Called when the close did not finish in its time (stop goes on without it). */
  readonly onOverrun?: () => void;
}

/** What the start plan gets: it opens resources through it and checks it between its steps. */
export interface Opening {
  /** True once stop() was called: nothing more should start. */
  stopping(): boolean;
  /** Throws START_CANCELLED once stop() was called: the plan calls it between its steps. */
  checkpoint(): void;
  /** Opens one resource (after a checkpoint) and registers how stop() closes it. */
  open<R>(name: string, open: () => Promise<R>, close: (r: R) => unknown, options?: CloseOptions): Promise<R>;
  /** Registers a resource that is already open (made synchronously), and returns it. */
  hold<R>(name: string, resource: R, close: (r: R) => unknown, options?: CloseOptions): R;
}

/** The stop's times, in milliseconds. */
export interface StopTimes {
  /** The whole stop, from the call of stop() to its last step. */
  readonly budgetMs: number;
  /** The most one ordinary step may take. */
  readonly stepMs: number;
  /** Kept back from `rest` steps (cancel start, drain) for the steps after them. */
  readonly tailMs: number;
}

/** What the lifecycle writes: a warning per failed or late step, `stopped`, then a flush. */
export type LifecycleLogger = Pick<Logger, 'info' | 'warn'> & { flush(done: () => void): void };

export interface LifecycleOptions<T> {
  /** Opens everything, in order, through `opening`; resolves to what start() resolves to. */
  readonly plan: (opening: Opening) => Promise<T>;
  readonly logger: LifecycleLogger;
  readonly times: StopTimes;
  /** At the call of stop(), before anything else (e.g. readiness says draining). */
  readonly onStop?: (() => void) | undefined;
  /** Once, before the first close, when the start opened anything. */
  readonly onClose?: (() => void) | undefined;
}

interface Closer extends CloseOptions {
  readonly name: string;
  close(): unknown;
}

const cancelled = (): WorkerError => new WorkerError('START_CANCELLED', 'start cancelled: stop() was called');

export class Lifecycle<T> {
  readonly #o: LifecycleOptions<T>;
  #phase: Phase = 'created';
  /** What is open, in the order it was opened: stop() closes from the end. */
  readonly #open: Closer[] = [];
  /** Set when the plan first tries to open something: from then on stop() closes and reports. */
  #touched = false;
  /** The plan in progress or done: stop() waits for it to reach a checkpoint. */
  #plan: Promise<T> | undefined;
  #started: Promise<T> | undefined;
  #stopped: Promise<void> | undefined;

  constructor(options: LifecycleOptions<T>) {
    this.#o = options;
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** Runs the plan once; a second call gets the same promise, a call after stop() is cancelled. */
  start(): Promise<T> {
    this.#started ??= this.#start();
    return this.#started;
  }

  /**
   * Stops at any moment, start-up included, and resolves (or rejects with STOP_TIMEOUT, naming
   * the steps that overran) within `budgetMs`. A start in progress is cancelled at its next
   * checkpoint; once it has settled, whatever it opened is closed. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #start(): Promise<T> {
    if (this.#phase !== 'created') throw cancelled();
    this.#phase = 'starting';
    this.#plan = this.#o.plan(this.#opening());
    try {
      const value = await this.#plan;
      // A stop() that came after the plan's last checkpoint finds it running and closes it all.
      if (this.#phase === 'starting') this.#phase = 'running';
      return value;
    } catch (error) {
      // Failed on its own (a stop() would have moved the phase on): close what it opened.
      if (this.#phase === 'starting') await this.stop().catch(() => {});
      throw error;
    }
  }

  async #stop(): Promise<void> {
    this.#phase = 'stopping';
    this.#o.onStop?.();
    const steps = new StopSteps(this.#o.times, this.#o.logger);
    // A start still opening things: let it reach its next checkpoint, where it sees the stop.
    // Nothing polls yet, so it may use the drain's time.
    await steps.run('cancel start', () => this.#plan?.catch(() => {}), 'rest');
    // A start that failed or was cancelled before opening anything: nothing to close or report.
    if (!this.#touched && steps.overran.length === 0) {
      this.#phase = 'stopped';
      return;
    }
    this.#o.onClose?.();
    // A start that outlived its cancel step may still open things: they join the stack while
    // this loop runs, and are closed at once after it (#hold).
    for (let closer = this.#open.pop(); closer !== undefined; closer = this.#open.pop()) {
      if (await steps.run(closer.name, () => closer.close(), closer.budget ?? 'step')) closer.onOverrun?.();
    }
    this.#phase = 'stopped';
    const { logger } = this.#o;
    logger.info({}, 'stopped');
    await steps.run('log flush', () => new Promise<void>((resolve) => logger.flush(() => resolve())), 'step');
    if (steps.overran.length > 0) {
      throw new WorkerError('STOP_TIMEOUT', `stop: ${steps.overran.join(', ')} did not finish in time`);
    }
  }

  #checkpoint(): void {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') throw cancelled();
  }

  #opening(): Opening {
    return {
      stopping: () => this.#phase === 'stopping' || this.#phase === 'stopped',
      checkpoint: () => this.#checkpoint(),
      open: async (name, open, close, options) => {
        this.#checkpoint();
        this.#touched = true;
        const resource = await open();
        this.#hold(name, resource, close, options);
        this.#checkpoint();
        return resource;
      },
      hold: (name, resource, close, options) => {
        this.#touched = true;
        this.#hold(name, resource, close, options);
        return resource;
      },
    };
  }

  #hold<R>(name: string, resource: R, close: (r: R) => unknown, options: CloseOptions = {}): void {
    const closer: Closer = { ...options, name, close: () => close(resource) };
    // The stop has closed everything already (it gave up waiting for this start): close it now.
    if (this.#phase === 'stopped') {
      void Promise.resolve()
        .then(() => closer.close())
        .catch(() => {});
    } else {
      this.#open.push(closer);
    }
  }
}

/** The steps of one stop: each within its own cap and never past the stop's deadline. */
class StopSteps {
  readonly overran: string[] = [];
  readonly #times: StopTimes;
  readonly #logger: LifecycleLogger;
  readonly #deadline: number;

  constructor(times: StopTimes, logger: LifecycleLogger) {
    this.#times = times;
    this.#logger = logger;
    this.#deadline = Date.now() + times.budgetMs;
  }

  /** Runs `work`; a failure is logged, an overrun logged and recorded. True when it overran. */
  async run(name: string, work: () => unknown, budget: 'rest' | 'step'): Promise<boolean> {
    const left = this.#deadline - Date.now();
    const capMs = budget === 'rest' ? left - this.#times.tailMs : this.#times.stepMs;
    const ms = Math.max(0, Math.min(capMs, left));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
    const done = Promise.resolve()
      .then(work)
      .then(
        () => false as const,
        (error: unknown) => {
          this.#logger.warn({ error: describeError(error) }, `stop: ${name} failed`);
          return false as const;
        },
      );
    const overran = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    if (overran) {
      this.overran.push(name);
      this.#logger.warn({ step: name, ms }, 'stop: a step did not finish in time; going on');
    }
    return overran;
  }
}
