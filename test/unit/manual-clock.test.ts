import { systemClock } from '../../src/core/clock.js';
import { Every } from '../../src/worker/schedule.js';
import { ManualClock } from '../helpers/manual-clock.js';

describe('ManualClock: time moves only when the test says so', () => {
  it('fires due timers in order, ties in the order they were set, each at its own instant', async () => {
    const clock = new ManualClock(1_000_000, 50);
    const fired: [string, number, number][] = [];
    const at = (name: string) => () => fired.push([name, clock.monotonic(), clock.now()]);
    clock.setTimeout(at('c'), 30);
    clock.setTimeout(at('a'), 10);
    clock.setTimeout(at('b'), 10);
    const cleared = clock.setTimeout(at('never'), 20);
    clock.clearTimeout(cleared);
    clock.setTimeout(at('later'), 31);
    await clock.advanceAsync(30);
    expect(fired).toEqual([
      ['a', 60, 1_000_010],
      ['b', 60, 1_000_010],
      ['c', 80, 1_000_030],
    ]);
    expect([clock.monotonic(), clock.now(), clock.pending, clock.nextInMs]).toEqual([80, 1_000_030, 1, 1]);
  });

  it('fires, within the same advance, a timer that a fired timer or its promise callbacks set', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      void Promise.resolve().then(() => clock.setTimeout(() => fired.push(clock.monotonic()), 5));
    }, 5);
    await clock.advanceAsync(10);
    expect(fired).toEqual([10]);
  });

  it('a wall-clock step (+1 h, or back) fires no timer and delays none', async () => {
    const clock = new ManualClock(1_000_000, 0);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.monotonic()), 1000);
    clock.stepWall(3_600_000);
    await clock.advanceAsync(999);
    expect(fired).toEqual([]);
    clock.stepWall(-7_200_000);
    await clock.advanceAsync(1);
    expect(fired).toEqual([1000]);
    // Wall time moved by the steps and by the 1,000 ms that passed; monotonic by the 1,000 ms only.
    expect([clock.now(), clock.monotonic()]).toEqual([1_000_000 - 3_600_000 + 1000, 1000]);
  });

  it('an Every schedule keeps its monotonic period across a wall-clock step', async () => {
    const clock = new ManualClock(1_000_000, 0);
    const runs: number[] = [];
    const every = new Every(clock, 100, async () => void runs.push(clock.monotonic()), 100);
    await clock.advanceAsync(150);
    clock.stepWall(3_600_000);
    await clock.advanceAsync(250);
    every.stop();
    await clock.advanceAsync(1000);
    expect(runs).toEqual([100, 200, 300, 400]);
    expect(clock.pending).toBe(0);
  });

  it('sleep resolves true when its time has passed, false at once when aborted, clearing its timer', async () => {
    const clock = new ManualClock();
    const stop = new AbortController();
    const results: [string, boolean, number][] = [];
    void clock.sleep(100).then((v) => results.push(['plain', v, clock.monotonic()]));
    void clock.sleep(1000, stop.signal).then((v) => results.push(['stopped', v, clock.monotonic()]));
    await clock.advanceAsync(100);
    stop.abort();
    await clock.settle();
    expect(results).toEqual([
      ['plain', true, 100],
      ['stopped', false, 100],
    ]);
    expect(clock.pending).toBe(0);
    expect(await clock.sleep(5, stop.signal)).toBe(false);
  });

  it('runUntilIdle fires everything, and gives up on a schedule that never ends', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => clock.setTimeout(() => fired.push(clock.monotonic()), 500), 500);
    await clock.runUntilIdle();
    expect(fired).toEqual([1000]);
    const every = new Every(clock, 10, async () => {}, 0);
    await expect(clock.runUntilIdle(50)).rejects.toThrow('still timers pending after 50');
    every.stop();
  });

  it('advance() moves at once and fires due timers synchronously, in order', () => {
    const clock = new ManualClock(5000, 7);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.monotonic()), 5);
    clock.setTimeout(() => fired.push(clock.monotonic()), 3);
    clock.advance(10);
    expect([clock.now(), clock.monotonic(), fired]).toEqual([5010, 17, [10, 12]]);
  });
});

describe('systemClock', () => {
  it('sleep ends false as soon as its signal aborts, and at once when it already has', async () => {
    const stop = new AbortController();
    const sleeping = systemClock.sleep(60_000, stop.signal);
    stop.abort();
    expect(await sleeping).toBe(false);
    expect(await systemClock.sleep(60_000, stop.signal)).toBe(false);
  });

  it('gives timers that can be unref-ed and cleared', () => {
    const timer = systemClock.setTimeout(() => {
      throw new Error('cleared: never runs');
    }, 60_000);
    timer.unref();
    systemClock.clearTimeout(timer);
    systemClock.clearTimeout(undefined);
    expect(systemClock.monotonic()).toBeGreaterThan(0);
  });
});
