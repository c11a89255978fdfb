import { jest } from '@jest/globals';
import { FailureLogLimiter } from '../../src/observability/observe.js';
import { systemClock } from '../../src/core/clock.js';

describe('FailureLogLimiter', () => {
  const clock = { ...systemClock, now: () => Date.now(), monotonic: () => performance.now() };
  let lines: string[];
  let limiter: FailureLogLimiter;
  const fail = (kind: string, what: string) =>
    limiter.log(kind, (more) => lines.push(limiter.text(`${kind} failed: ${what}`, more)));

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_750_000_000_000 });
    lines = [];
    limiter = new FailureLogLimiter(clock, 10_000);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('writes the first failure at once and one line per interval for the rest, with their count', () => {
    fail('receive', 'e0');
    expect(lines).toEqual(['receive failed: e0']);
    for (let i = 1; i <= 38; i += 1) {
      jest.advanceTimersByTime(250);
      fail('receive', `e${i}`);
    }
    expect(lines).toHaveLength(1);
    jest.advanceTimersByTime(10_000 - 38 * 250);
    expect(lines).toEqual(['receive failed: e0', 'receive failed: e38 (37 more in the last 10 s)']);
  });

  it('accounts for every failure of a long outage: written or counted', () => {
    let failures = 0;
    for (let t = 0; t < 60_000; t += 25) {
      fail('receive', 'x');
      failures += 1;
      jest.advanceTimersByTime(25);
    }
    jest.advanceTimersByTime(10_000);
    const counted = lines.map((line) => 1 + Number(/\((\d+) more/.exec(line)?.[1] ?? 0));
    expect(counted.reduce((a, b) => a + b, 0)).toBe(failures);
    // 40 a second for a minute: one line at the start, then one per 10 s.
    expect(lines).toHaveLength(7);
  });

  it('keeps kinds apart', () => {
    fail('receive', 'a');
    fail('settle', 'b');
    fail('receive', 'c');
    expect(lines).toEqual(['receive failed: a', 'settle failed: b']);
    jest.advanceTimersByTime(10_000);
    expect(lines).toEqual(['receive failed: a', 'settle failed: b', 'receive failed: c']);
  });

  it('writes at once again after a quiet interval', () => {
    fail('store', 'a');
    jest.advanceTimersByTime(10_000);
    fail('store', 'b');
    expect(lines).toEqual(['store failed: a', 'store failed: b']);
  });

  it('writes nothing at the end of an interval without further failures', () => {
    fail('heartbeat', 'a');
    jest.advanceTimersByTime(60_000);
    expect(lines).toEqual(['heartbeat failed: a']);
  });
});
