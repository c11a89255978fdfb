import { MemoryQueues } from '../../src/testing/memory-queue.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { Hold, leaseClockSkewMs, type HoldOptions } from '../../src/worker/lease.js';
import { service } from '../helpers/fakes.js';
import { ManualClock } from '../helpers/manual-clock.js';

const T0 = 1_750_000_000_000;

/** Wall time starts at T0, monotonic at 0; only advance() and stepWall() move them. */
let clock: ManualClock;

beforeEach(() => {
  clock = new ManualClock(T0, 0);
});

async function held(idempotency: HoldOptions['idempotency'] = service(new MemoryIdempotencyStore(), clock)) {
  const queue = new MemoryQueues().create('q', { visibilityTimeoutSeconds: 30 });
  await queue.send({ body: 'x' });
  const [message] = await queue.receive({ maxMessages: 1, waitTimeSeconds: 0, visibilityTimeoutSeconds: 30 });
  const aborts: Error[] = [];
  const hold = new Hold({
    queue,
    receiptHandle: message?.receiptHandle ?? '',
    idempotency,
    clock,
    visibilityTimeoutSeconds: 30,
    skewMs: 1000,
    receivedAt: clock.now(),
    stopping: new AbortController().signal,
    abort: (reason) => aborts.push(reason),
    onLeaseLost: () => {},
    onError: () => {},
  });
  return { hold, aborts };
}

describe('Hold: every lease counts from when it is asked, V + P - M, whatever the visibility', () => {
  it('asks for a lease of V + P - M (30 + 10 - 1 s), and a cut-off the margin back', async () => {
    const { hold } = await held();
    expect(hold.terms()).toEqual({ leaseExpiresAtMs: T0 + 39_000, lapsedBefore: T0 - 1000 });
    hold.end();
  });

  it('after a wait in its lane, claims a lease counted from now, not from the visibility the last beat set', async () => {
    const { hold } = await held();
    await clock.advanceAsync(15_000);
    // The beat at 10 s extended the visibility to 40 s; the lease asked at 15 s ends at 15 + 39 s.
    expect(hold.terms().leaseExpiresAtMs).toBe(T0 + 54_000);
    hold.end();
  });

  it('refuses a grant that arrives within the margin of its end, and arms the watchdog otherwise', async () => {
    const { hold, aborts } = await held();
    const terms = hold.terms();
    const claim = { pk: 'q#k', owner: 'a:1', fence: 1, attempt: 1 };
    clock.stepWall(terms.leaseExpiresAtMs - 1000 - clock.now());
    expect(hold.granted(claim, terms)).toBe(false);
    clock.stepWall(T0 - clock.now());
    expect(hold.granted(claim, terms)).toBe(true);
    hold.end();
    expect(aborts).toEqual([]);
  });

  it('renews with the visibility changes: the first renewal at the first change after the claim was asked', async () => {
    const renewedAt: number[] = [];
    const { hold, aborts } = await held({ renew: async () => (renewedAt.push(clock.monotonic()), true) });
    // Asked 14 s after the receipt (after a wait in its lane): the changes go at 10 s, 20 s, ...
    await clock.advanceAsync(14_000);
    expect(hold.granted({ pk: 'q#k', owner: 'a:1', fence: 1, attempt: 1 }, hold.terms())).toBe(true);
    await clock.advanceAsync(30_000);
    // Not 24 s, 34 s: a crashed worker's lease (sent + 39 s) then outlives the visibility its
    // last change set (sent + 30 s) by P (10 s), not by P plus the 4 s the claim came after a change.
    expect(renewedAt).toEqual([20_000, 30_000, 40_000]);
    expect(aborts).toEqual([]);
    hold.end();
  });

  it('defaults the margin to 1 s, or a tenth of a short visibility timeout', () => {
    expect(leaseClockSkewMs(undefined, 30)).toBe(1000);
    expect(leaseClockSkewMs(undefined, 5)).toBe(500);
    expect(leaseClockSkewMs(2500, 30)).toBe(2500);
  });
});
