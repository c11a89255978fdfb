import { jest } from '@jest/globals';
import { systemClock } from '../../src/core/clock.js';
import { MemoryQueues } from '../../src/core/memory-queue.js';
import { MemoryIdempotencyStore } from '../../src/core/memory-store.js';
import { Hold, leaseClockSkewMs } from '../../src/worker/lease.js';
import { service } from '../helpers/fakes.js';

const T0 = 1_750_000_000_000;

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
});

afterEach(() => {
  jest.useRealTimers();
});

async function held() {
  const queue = new MemoryQueues().create('q', { visibilityTimeoutSeconds: 30 });
  await queue.send({ body: 'x' });
  const [message] = await queue.receive({ maxMessages: 1, waitTimeSeconds: 0, visibilityTimeoutSeconds: 30 });
  const aborts: Error[] = [];
  const hold = new Hold({
    queue,
    receiptHandle: message?.receiptHandle ?? '',
    idempotency: service(new MemoryIdempotencyStore(), systemClock),
    clock: systemClock,
    visibilityTimeoutSeconds: 30,
    skewMs: 1000,
    receivedAt: Date.now(),
    stopping: new AbortController().signal,
    abort: (reason) => aborts.push(reason),
    onLeaseLost: () => {},
    onError: () => {},
  });
  return { hold, aborts };
}

describe('Hold: the lease follows the message visibility, less the clock-skew margin', () => {
  it('asks for a lease that ends the margin before the visibility, and a cut-off the margin back', async () => {
    const { hold } = await held();
    expect(hold.terms()).toEqual({ leaseExpiresAtMs: T0 + 29_000, lapsedBefore: T0 - 1000 });
    hold.end();
  });

  it('after a wait in its lane, claims a lease that lapses with the visibility the last beat set', async () => {
    const { hold } = await held();
    await jest.advanceTimersByTimeAsync(15_000);
    // The beat at 10 s extended visibility to 40 s: the lease ends at 39 s, not 15 + 30 = 45 s.
    expect(hold.terms().leaseExpiresAtMs).toBe(T0 + 39_000);
    hold.end();
  });

  it('refuses a grant that arrives within the margin of its end, and arms the watchdog otherwise', async () => {
    const { hold, aborts } = await held();
    const terms = hold.terms();
    const claim = { pk: 'q#k', owner: 'a:1', fence: 1, attempt: 1 };
    jest.setSystemTime(terms.leaseExpiresAtMs - 1000);
    expect(hold.granted(claim, terms)).toBe(false);
    jest.setSystemTime(T0);
    expect(hold.granted(claim, terms)).toBe(true);
    hold.end();
    expect(aborts).toEqual([]);
  });

  it('defaults the margin to 1 s, or a tenth of a short visibility timeout', () => {
    expect(leaseClockSkewMs(undefined, 30)).toBe(1000);
    expect(leaseClockSkewMs(undefined, 5)).toBe(500);
    expect(leaseClockSkewMs(2500, 30)).toBe(2500);
  });
});
