import type { VisibilityChange } from '../../src/core/queue.js';
import { Hold, LeaseExpiredError, LeaseLostError, type HoldOptions } from '../../src/worker/lease.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** What mutation testing showed unchecked in worker/lease.ts: each asserted by its exact effect. */

const T0 = 1_750_000_000_000;
const CLAIM = { pk: 'q#k', owner: 'a:1', fence: 1, attempt: 1 };

/** Wall time starts at T0, monotonic at 0; only advance() and stepWall() move them. */
let clock: ManualClock;

beforeEach(() => {
  clock = new ManualClock(T0, 0);
});

/** A Hold on fakes: a queue that records visibility changes, a store answering `renew`. */
function hold(
  options: Partial<HoldOptions> & { renew?: () => Promise<boolean>; change?: () => Promise<void> } = {},
) {
  const changes: number[] = [];
  const errors: unknown[] = [];
  const aborts: Error[] = [];
  const lost: number[] = [];
  const { renew, change, ...rest } = options;
  const h = new Hold({
    queue: {
      changeVisibility: async (_c: VisibilityChange) => {
        changes.push(clock.now() - T0);
        await change?.();
      },
    } as unknown as HoldOptions['queue'],
    receiptHandle: 'rh',
    idempotency: { renew: renew ?? (async () => true) } as unknown as HoldOptions['idempotency'],
    clock,
    visibilityTimeoutSeconds: 30,
    skewMs: 1000,
    receivedAt: clock.now(),
    stopping: new AbortController().signal,
    abort: (reason) => aborts.push(reason),
    onLeaseLost: () => lost.push(clock.now() - T0),
    onError: (error) => errors.push(error),
    ...rest,
  });
  return { h, changes, errors, aborts, lost };
}

describe('worker/lease.ts edges', () => {
  it('its errors carry stable codes and say why', () => {
    expect(new LeaseExpiredError()).toMatchObject({
      code: 'ERR_LEASE_EXPIRED',
      message: 'lease ran out: renewals were not confirmed in time',
    });
    expect(new LeaseLostError()).toMatchObject({
      code: 'ERR_LEASE_LOST',
      message: 'lease lost: another worker took the key over',
    });
  });

  it('counts the visibility schedule from the receipt, not from when the hold was made', async () => {
    // The monotonic clock is far from 0, and the message was received 4 s before the hold.
    await clock.advanceAsync(100_000);
    const { h, changes } = hold({ receivedAt: clock.now() - 4000 });
    await clock.advanceAsync(20_000);
    // P = 10 s after the receipt: at 6 s and 16 s from now (100 s after T0).
    expect(changes).toEqual([106_000, 116_000]);
    h.end();
  });

  it('aligns the first renewal with the visibility changes, the clocks far from 0', async () => {
    await clock.advanceAsync(100_000);
    const renewedAt: number[] = [];
    const { h } = hold({ renew: async () => (renewedAt.push(clock.now() - T0), true) });
    await clock.advanceAsync(14_000);
    expect(h.granted(CLAIM, h.terms())).toBe(true);
    await clock.advanceAsync(20_000);
    expect(renewedAt).toEqual([120_000, 130_000]);
    h.end();
  });

  it('startHandler without a listener does nothing, and with one calls it', () => {
    const quiet = hold();
    expect(() => quiet.h.startHandler()).not.toThrow();
    let started = 0;
    const told = hold({ onHandlerStart: () => (started += 1) });
    told.h.startHandler();
    expect(started).toBe(1);
    quiet.h.end();
    told.h.end();
  });

  it('reports a failed visibility change or renewal while it holds, and nothing once it has ended', async () => {
    let failing = true;
    const { h, errors } = hold({
      change: async () => {
        if (failing) throw new Error('sqs down');
      },
      renew: async () => {
        if (failing) throw new Error('ddb down');
        return true;
      },
    });
    expect(h.granted(CLAIM, h.terms())).toBe(true);
    await clock.advanceAsync(10_000);
    expect(errors.map((e) => (e as Error).message).sort()).toEqual(['ddb down', 'sqs down']);
    // Calls in flight when the delivery ends: their failures are no longer news.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = hold({
      change: async () => {
        await gate;
        throw new Error('late sqs');
      },
      renew: async () => {
        await gate;
        throw new Error('late ddb');
      },
    });
    expect(slow.h.granted(CLAIM, slow.h.terms())).toBe(true);
    await clock.advanceAsync(10_000);
    slow.h.end();
    release();
    await clock.advanceAsync(1);
    expect(slow.errors).toEqual([]);
    failing = false;
    h.end();
  });

  it('a renewal answered after end() neither aborts nor reports a lost lease', async () => {
    let release!: (kept: boolean) => void;
    const { h, aborts, lost } = hold({ renew: () => new Promise<boolean>((resolve) => (release = resolve)) });
    expect(h.granted(CLAIM, h.terms())).toBe(true);
    await clock.advanceAsync(10_000);
    h.end();
    release(false);
    await clock.advanceAsync(1);
    expect(aborts).toEqual([]);
    expect(lost).toEqual([]);
  });

  it('a renewal refused while the handler runs aborts once with LeaseLostError, and renewing stops', async () => {
    let renewals = 0;
    const { h, aborts, lost } = hold({ renew: async () => ((renewals += 1), false) });
    expect(h.granted(CLAIM, h.terms())).toBe(true);
    await clock.advanceAsync(35_000);
    expect(renewals).toBe(1);
    expect(lost).toEqual([10_000]);
    expect(aborts).toEqual([expect.any(LeaseLostError)]);
    h.end();
  });

  it('never lowers the lease it may hold: msUntilTakeable counts from the latest asked', async () => {
    const { h } = hold();
    const first = h.terms();
    expect(h.granted(CLAIM, first)).toBe(true);
    await clock.advanceAsync(5000);
    // Asked again at 5 s (the record may now carry 5 + 39 s): an older grant cannot lower that.
    h.terms();
    expect(h.granted(CLAIM, first)).toBe(true);
    expect(h.msUntilTakeable()).toBe(44_000 + 1000 - 5000);
    await clock.advanceAsync(5000);
    // Renewed at 10 s: 10 + 39 s.
    expect(h.msUntilTakeable()).toBe(49_000 + 1000 - 10_000);
    h.end();
  });

  it('a renewal asked after the wall clock stepped back does not lower the lease the record may carry', async () => {
    const { h } = hold();
    expect(h.granted(CLAIM, h.terms())).toBe(true);
    clock.stepWall(-20_000);
    await clock.advanceAsync(10_000);
    // The renewal at 10 s asked (10 - 20) + 39 s: less than the 39 s the claim may have written.
    expect(h.msUntilTakeable()).toBe(39_000 + 1000 - (10_000 - 20_000));
    h.end();
  });

  it('after settle(), a confirmed renewal arms no watchdog', async () => {
    // One renewal confirmed after the handler returned, then the store fails: nothing to abort.
    let renewals = 0;
    const { h, aborts } = hold({
      renew: async () => {
        renewals += 1;
        if (renewals > 1) throw new Error('ddb down');
        return true;
      },
    });
    expect(h.granted(CLAIM, h.terms())).toBe(true);
    h.settle();
    await clock.advanceAsync(200_000);
    expect(renewals).toBeGreaterThan(1);
    expect(aborts).toEqual([]);
    h.end();
  });

  it('before any grant, nothing holds the key: msUntilTakeable is 0', () => {
    const { h } = hold();
    expect(h.msUntilTakeable()).toBe(0);
    h.end();
  });

  it('a renewal before any grant asks nothing of the store', async () => {
    let renewals = 0;
    const { h } = hold({ renew: async () => ((renewals += 1), true) });
    await clock.advanceAsync(35_000);
    expect(renewals).toBe(0);
    h.end();
  });
});
