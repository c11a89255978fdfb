import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Lifecycle, type Opening, type Phase } from '../../src/app/lifecycle.js';
import { WorkerError } from '../../src/core/errors.js';

/*
 * The worker's life (src/app/lifecycle.ts) on in-memory resources: each open and close is
 * written to a journal, so the tests read what was opened and closed, how often and in which
 * order. No network; the tests of overruns drive jest's fake timers.
 */

interface Line {
  readonly level: 'info' | 'warn';
  readonly msg: string;
  readonly obj: object;
}

class Journal {
  readonly events: string[] = [];
  readonly lines: Line[] = [];
  flushes = 0;
  readonly logger = {
    info: (obj: object, msg = '') => void this.lines.push({ level: 'info', msg, obj }),
    warn: (obj: object, msg = '') => void this.lines.push({ level: 'warn', msg, obj }),
    flush: (done: () => void) => {
      this.flushes += 1;
      done();
    },
  };

  closes(): string[] {
    return this.events.filter((e) => e.startsWith('close ')).map((e) => e.slice('close '.length));
  }

  opens(): string[] {
    return this.events.filter((e) => e.startsWith('open ')).map((e) => e.slice('open '.length));
  }

  messages(): string[] {
    return this.lines.map((l) => l.msg);
  }
}

/** A promise resolved or rejected from outside. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const TIMES = { budgetMs: 20_000, stepMs: 1000, tailMs: 4000 };

/** A lifecycle whose plan opens `names` in order (each waiting for `gates[name]` when given). */
function lifecycleOf(
  names: readonly string[],
  options: {
    gates?: Record<string, Promise<void>>;
    failAt?: string;
    closeFails?: string;
    closeHangs?: string;
    overran?: string[];
    onOpening?: (name: string) => void;
  } = {},
) {
  const journal = new Journal();
  const phases: Phase[] = [];
  let plans = 0;
  let opening: Opening | undefined;
  const lifecycle = new Lifecycle<string>({
    plan: async (o) => {
      plans += 1;
      opening = o;
      for (const name of names) {
        await o.open(
          name,
          async () => {
            journal.events.push(`opening ${name}`);
            options.onOpening?.(name);
            await options.gates?.[name];
            if (options.failAt === name) throw new Error(`${name} failed to open`);
            journal.events.push(`open ${name}`);
            return name;
          },
          (resource) => {
            journal.events.push(`close ${resource}`);
            if (options.closeFails === resource) throw new Error(`${resource} failed to close`);
            if (options.closeHangs === resource) return new Promise(() => {});
            return undefined;
          },
          { onOverrun: () => options.overran?.push(name) },
        );
      }
      return 'up';
    },
    logger: journal.logger,
    times: TIMES,
    onStop: () => journal.events.push('on stop'),
    onClose: () => journal.events.push('on close'),
  });
  const watch = () => phases.push(lifecycle.phase);
  return { lifecycle, journal, phases, watch, plans: () => plans, opening: () => opening };
}

const code = (error: unknown) => (error instanceof WorkerError ? error.code : String(error));

afterEach(() => {
  jest.useRealTimers();
});

describe('the lifecycle: start, then stop', () => {
  it('opens in order, closes each resource once in reverse order, then says stopped and flushes', async () => {
    const { lifecycle, journal, phases, watch } = lifecycleOf(['tracing', 'connection', 'http server']);
    watch();
    const started = lifecycle.start();
    watch();
    await expect(started).resolves.toBe('up');
    watch();
    const stopped = lifecycle.stop();
    watch();
    await stopped;
    watch();
    expect(phases).toEqual(['created', 'starting', 'running', 'stopping', 'stopped']);
    expect(journal.opens()).toEqual(['tracing', 'connection', 'http server']);
    expect(journal.closes()).toEqual(['http server', 'connection', 'tracing']);
    expect(journal.events.indexOf('on stop')).toBeLessThan(journal.events.indexOf('on close'));
    expect(journal.messages()).toEqual(['stopped']);
    expect(journal.flushes).toBe(1);
  });

  it('start twice runs the plan once and gives the same answer', async () => {
    const { lifecycle, plans, journal } = lifecycleOf(['a', 'b']);
    const first = lifecycle.start();
    expect(lifecycle.start()).toBe(first);
    await first;
    expect(lifecycle.start()).toBe(first);
    expect(plans()).toBe(1);
    expect(journal.opens()).toEqual(['a', 'b']);
    await lifecycle.stop();
  });

  it('stop twice (and three times) closes each resource once and flushes once', async () => {
    const { lifecycle, journal } = lifecycleOf(['a', 'b', 'c']);
    await lifecycle.start();
    const first = lifecycle.stop();
    expect(lifecycle.stop()).toBe(first);
    await first;
    await lifecycle.stop();
    expect(journal.closes()).toEqual(['c', 'b', 'a']);
    expect(journal.flushes).toBe(1);
    expect(journal.messages().filter((m) => m === 'stopped')).toHaveLength(1);
  });

  it('a close that fails is logged and the others still close', async () => {
    const { lifecycle, journal } = lifecycleOf(['a', 'b', 'c'], { closeFails: 'b' });
    await lifecycle.start();
    await lifecycle.stop();
    expect(journal.closes()).toEqual(['c', 'b', 'a']);
    expect(journal.messages()).toEqual(['stop: b failed', 'stopped']);
  });
});

describe('the lifecycle: stop before or during the start', () => {
  it('stop before start: nothing opens, nothing is reported, and a later start is cancelled', async () => {
    const { lifecycle, journal, plans } = lifecycleOf(['a']);
    await lifecycle.stop();
    expect(lifecycle.phase).toBe('stopped');
    const error = await lifecycle.start().catch((e: unknown) => e);
    expect(code(error)).toBe('START_CANCELLED');
    expect(plans()).toBe(0);
    expect(journal.events).toEqual(['on stop']);
    expect(journal.flushes).toBe(0);
  });

  it('stop during starting: the open in progress finishes, is closed, and nothing after it opens', async () => {
    const gate = deferred();
    const atB = deferred();
    const { lifecycle, journal, opening } = lifecycleOf(['a', 'b', 'c'], {
      gates: { b: gate.promise },
      onOpening: (name) => name === 'b' && atB.resolve(),
    });
    const started = lifecycle.start().catch((e: unknown) => e);
    await atB.promise;
    const stopped = lifecycle.stop();
    expect(lifecycle.phase).toBe('stopping');
    expect(opening()?.stopping()).toBe(true);
    gate.resolve();
    await stopped;
    expect(code(await started)).toBe('START_CANCELLED');
    expect(journal.opens()).toEqual(['a', 'b']);
    expect(journal.closes()).toEqual(['b', 'a']);
    expect(lifecycle.phase).toBe('stopped');
  });

  it('stop right after the plan finished: start still resolves, and the stop closes what it opened', async () => {
    const journal = new Journal();
    const lifecycle = new Lifecycle<string>({
      plan: async (o) => {
        o.hold('a', 'a', () => journal.events.push('close a'));
        return 'up';
      },
      logger: journal.logger,
      times: TIMES,
    });
    const started = lifecycle.start();
    const stopped = lifecycle.stop();
    await expect(started).resolves.toBe('up');
    await stopped;
    expect(journal.events).toEqual(['close a']);
    expect(lifecycle.phase).toBe('stopped');
  });

  it('a plan that fails before opening anything (a configuration error): no stop lines', async () => {
    const journal = new Journal();
    const lifecycle = new Lifecycle<void>({
      plan: async () => {
        throw new Error('config error: HANDLER');
      },
      logger: journal.logger,
      times: TIMES,
    });
    await expect(lifecycle.start()).rejects.toThrow('config error: HANDLER');
    await lifecycle.stop();
    expect(journal.lines).toEqual([]);
    expect(journal.flushes).toBe(0);
    expect(lifecycle.phase).toBe('stopped');
  });
});

describe('the lifecycle: a start that fails', () => {
  it('closes every resource it opened so far exactly once, in reverse order, before it rejects', async () => {
    const { lifecycle, journal, phases, watch } = lifecycleOf(['a', 'b', 'c', 'd'], { failAt: 'c' });
    const error = await lifecycle.start().catch((e: unknown) => e);
    watch();
    expect(String(error)).toContain('c failed to open');
    expect(journal.opens()).toEqual(['a', 'b']);
    expect(journal.closes()).toEqual(['b', 'a']);
    expect(phases).toEqual(['stopped']);
    // The caller's stop() afterwards (run.ts calls it) closes nothing twice.
    await lifecycle.stop();
    expect(journal.closes()).toEqual(['b', 'a']);
    expect(journal.flushes).toBe(1);
  });
});

describe('the lifecycle: steps that overrun (fake timers)', () => {
  it('a close that hangs is given up after its step time; the rest close; stop rejects naming it', async () => {
    jest.useFakeTimers({ now: 1_750_000_000_000 });
    const overran: string[] = [];
    const { lifecycle, journal } = lifecycleOf(['a', 'b', 'c'], { closeHangs: 'b', overran });
    await lifecycle.start();
    const stopped = lifecycle.stop().catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(TIMES.stepMs);
    const error = await stopped;
    expect(code(error)).toBe('STOP_TIMEOUT');
    expect(String(error)).toContain('stop: b did not finish in time');
    expect(overran).toEqual(['b']);
    expect(journal.closes()).toEqual(['c', 'b', 'a']);
    expect(journal.messages()).toContain('stop: a step did not finish in time; going on');
  });

  it('a start that outlives the stop: what it opens afterwards is closed at once, exactly once', async () => {
    jest.useFakeTimers({ now: 1_750_000_000_000 });
    const gate = deferred();
    const { lifecycle, journal } = lifecycleOf(['a', 'b', 'c'], { gates: { b: gate.promise } });
    const started = lifecycle.start().catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(0);
    const stopped = lifecycle.stop().catch((e: unknown) => e);
    // The cancel step may use the whole budget but the tail; then a's close and the flush.
    await jest.advanceTimersByTimeAsync(TIMES.budgetMs);
    const error = await stopped;
    expect(code(error)).toBe('STOP_TIMEOUT');
    expect(String(error)).toContain('cancel start');
    expect(journal.closes()).toEqual(['a']);
    expect(lifecycle.phase).toBe('stopped');
    gate.resolve();
    expect(code(await started)).toBe('START_CANCELLED');
    await jest.advanceTimersByTimeAsync(0);
    expect(journal.opens()).toEqual(['a', 'b']);
    expect(journal.closes()).toEqual(['a', 'b']);
  });

  it('the drain may use the budget but its tail', async () => {
    jest.useFakeTimers({ now: 1_750_000_000_000 });
    const journal = new Journal();
    const lifecycle = new Lifecycle<void>({
      plan: async (o) => {
        o.hold('connection', 'c', () => journal.events.push('close connection'));
        o.hold('drain', 'r', () => new Promise(() => {}), { budget: 'rest' });
      },
      logger: journal.logger,
      times: TIMES,
    });
    await lifecycle.start();
    const stopped = lifecycle.stop().catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(TIMES.budgetMs - TIMES.tailMs - 1);
    expect(journal.events).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(journal.events).toEqual(['close connection']);
    expect(String(await stopped)).toContain('stop: drain did not finish in time');
    const late = journal.lines.find((l) => l.msg === 'stop: a step did not finish in time; going on');
    expect(late?.obj).toEqual({ step: 'drain', ms: TIMES.budgetMs - TIMES.tailMs });
  });
});
