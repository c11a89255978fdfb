import { MemoryQueues } from '../../src/testing/memory-queue.js';
import type { Claim } from '../../src/core/idempotency-store.js';
import type { Queue, VisibilityChange } from '../../src/core/queue.js';
import { Hold, LeaseExpiredError, LeaseLostError } from '../../src/worker/lease.js';
import { Faults } from '../helpers/faults.js';
import { ManualClock } from '../helpers/manual-clock.js';

/**
 * The hold's two schedules on a manual clock (test/helpers/manual-clock.ts), at the bound docs/guarantees.md states. V = 5 s and
 * M = 500 ms: both schedules run every P = V/3 (1,666 ms); a lease asked at s (the claim's or a
 * renewal's) is s + V + P - M = s + 6,166; the handler's lease is ours until lease - M; so a grant
 * asked at T0 is ours until T0 + 5,666. Renewals answer at once unless a test says otherwise.
 */
const T0 = 1_750_000_000_000;
const V_S = 5;
const M = 500;
const P = Math.floor((V_S * 1000) / 3);
/** V + P - M: how long every lease asked runs from when it is asked. */
const LEASE = V_S * 1000 + P - M;
/** A grant asked at monotonic 0 is ours until then: LEASE - M. */
const OURS = LEASE - M;
/** The least L (each store call's latency, over P) that aborts a handler: 2L = V + P - 2M. */
const EDGE = Math.ceil((V_S * 1000 + P - 2 * M) / 2);
const CLAIM: Claim = { pk: 'q#k', owner: 'a:1', fence: 1, attempt: 1 };

/** Monotonic 0 at wall T0; stepWall() steps the wall clock, never the monotonic one. */
let clock: ManualClock;

beforeEach(() => {
  clock = new ManualClock(T0, 0);
});

interface Call<T> {
  readonly at: number;
  readonly arg: T;
  answer(value?: boolean): void;
  fail(error: Error): void;
}

/** Calls the test answers by hand (or after `autoMs` of the clock's time when set), and how many overlap. */
function calls<T>() {
  const made: Call<T>[] = [];
  let open = 0;
  let maxOpen = 0;
  const state = { autoMs: undefined as number | undefined, value: true };
  const call = (arg: T) =>
    new Promise<boolean>((resolve, reject) => {
      open += 1;
      maxOpen = Math.max(maxOpen, open);
      const done = () => (open -= 1);
      const one: Call<T> = {
        at: clock.monotonic(),
        arg,
        answer: (value = state.value) => (done(), resolve(value)),
        fail: (error) => (done(), reject(error)),
      };
      made.push(one);
      if (state.autoMs !== undefined) clock.setTimeout(() => one.answer(), state.autoMs);
    });
  return { made, call, state, maxOpen: () => maxOpen };
}

function hold(options: { queue?: Pick<Queue, 'changeVisibility'>; receiptHandle?: string } = {}) {
  const renewals = calls<number>();
  const changes = calls<VisibilityChange>();
  renewals.state.autoMs = 0;
  changes.state.autoMs = 0;
  const aborts: { at: number; reason: Error }[] = [];
  const errors: unknown[] = [];
  let lost = 0;
  const stopping = new AbortController();
  const h = new Hold({
    queue: options.queue ?? { changeVisibility: async (c) => void (await changes.call(c)) },
    receiptHandle: options.receiptHandle ?? 'r-1',
    idempotency: { renew: (_claim, lease) => renewals.call(lease ?? 0) },
    clock,
    visibilityTimeoutSeconds: V_S,
    skewMs: M,
    receivedAt: clock.now(),
    stopping: stopping.signal,
    abort: (reason) => aborts.push({ at: clock.monotonic(), reason }),
    onLeaseLost: () => void (lost += 1),
    onError: (error) => errors.push(error),
  });
  return { h, renewals, changes, aborts, errors, stopping, lost: () => lost };
}

/** Grants the claim asked for now: ours until T0 + 5,666 (monotonic 5,666). */
function grant(h: Hold) {
  const terms = h.terms();
  expect(terms.leaseExpiresAtMs).toBe(clock.now() + LEASE);
  expect(h.granted(CLAIM, terms)).toBe(true);
}

describe('Hold: the visibility and the lease each on their own schedule', () => {
  it('(a) a renewal hanging 9 s delays no visibility change: the message never comes back', async () => {
    const queue = new MemoryQueues({ clock }).create('q', { visibilityTimeoutSeconds: V_S });
    await queue.send({ body: 'x' });
    const [message] = await queue.receive({
      maxMessages: 1,
      waitTimeSeconds: 0,
      visibilityTimeoutSeconds: V_S,
    });
    const t = hold({ queue, receiptHandle: message?.receiptHandle ?? '' });
    t.renewals.state.autoMs = 9000;
    grant(t.h);
    for (let ms = 0; ms < 20_000; ms += 100) {
      await clock.advanceAsync(100);
      expect(queue.counts()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    }
    expect(queue.calls.changeVisibility).toBe(Math.floor(20_000 / P));
    // The lease could not be confirmed: the handler is told at lease - M, not later.
    expect(t.aborts.map((a) => [a.at, a.reason.constructor])).toEqual([[OURS, LeaseExpiredError]]);
    t.h.end();
  });

  it.each([
    [V_S * 500 - 1, true],
    [V_S * 500, false],
  ])(
    'at the bound: visibility changes that each take S keep the message invisible while S < V/2 (S = %d ms)',
    async (latency, invisible) => {
      // Worst case: one change lands at once and is answered S later; the next, sent then, lands
      // only S after that. Each landing must come before the visibility the last one set runs out.
      const memory = new MemoryQueues({ clock }).create('q', { visibilityTimeoutSeconds: V_S });
      await memory.send({ body: 'x' });
      const [message] = await memory.receive({
        maxMessages: 1,
        waitTimeSeconds: 0,
        visibilityTimeoutSeconds: V_S,
      });
      const queue = new Faults<Queue>(memory);
      let calls = 0;
      const margins: number[] = [];
      queue.before('changeVisibility', async () => {
        calls += 1;
        if (calls % 2 === 0) await clock.sleep(latency);
        margins.push((memory.peek()[0]?.visibleAt ?? 0) - clock.now());
      });
      queue.after('changeVisibility', async () => {
        if (calls % 2 === 1) await clock.sleep(latency);
      });
      const t = hold({ queue: queue.subject, receiptHandle: message?.receiptHandle ?? '' });
      await clock.advanceAsync(60_000);
      expect(Math.min(...margins) > 0).toBe(invisible);
      t.h.end();
    },
  );

  it('(b) visibility changes that take 2 s (a batch flush delay) abort no handler whose renewals succeed', async () => {
    const t = hold();
    t.changes.state.autoMs = 2000;
    grant(t.h);
    await clock.advanceAsync(60_000);
    expect(t.aborts).toEqual([]);
    expect(t.renewals.made.length).toBe(Math.floor(60_000 / P));
    t.h.end();
  });

  it('(b) an SQS stall (no visibility change answered for 60 s) aborts no handler either', async () => {
    const t = hold();
    t.changes.state.autoMs = undefined;
    grant(t.h);
    await clock.advanceAsync(60_000);
    expect(t.aborts).toEqual([]);
    expect(t.changes.made).toHaveLength(1); // one at a time: the stalled one is still open
    t.h.end();
  });

  it('(c) a renewal answered after its lease - M does not count', async () => {
    const t = hold();
    grant(t.h);
    t.renewals.state.autoMs = undefined;
    await clock.advanceAsync(P); // the first renewal goes out, asking T0 + P + 6,166
    const [first] = t.renewals.made;
    expect(first?.arg).toBe(T0 + P + LEASE);
    // The wall clock steps 5.5 s ahead while it is out: when its answer arrives, by the clock
    // then, less than M of that lease is left, so it is not ours to count on.
    clock.stepWall(5500);
    await clock.advanceAsync(300);
    first?.answer(true);
    await clock.advanceAsync(0);
    expect(t.aborts).toEqual([]);
    // The watchdog keeps the grant's deadline (monotonic 5,666): neither sooner nor later.
    await clock.advanceAsync(OURS - clock.monotonic() - 1);
    expect(t.aborts).toEqual([]);
    await clock.advanceAsync(1);
    expect(t.aborts.map((a) => [a.at, a.reason.constructor])).toEqual([[OURS, LeaseExpiredError]]);
    t.h.end();
  });

  it('(c) a renewal answered just before its lease - M counts, and moves the watchdog to it', async () => {
    const t = hold();
    grant(t.h);
    t.renewals.state.autoMs = undefined;
    await clock.advanceAsync(OURS - 1); // the renewal sent at P is still out
    t.renewals.made[0]?.answer(true);
    await clock.advanceAsync(1);
    expect(t.aborts).toEqual([]);
    // Ours until P + V + P - 2M; the next renewal (sent when the first came back) hangs.
    const deadline = P + OURS;
    await clock.advanceAsync(deadline - clock.monotonic() - 1);
    expect(t.aborts).toEqual([]);
    await clock.advanceAsync(1);
    expect(t.aborts.map((a) => a.at)).toEqual([deadline]);
    t.h.end();
  });

  it('(d) no two renewals of one delivery overlap; a late one is followed at once by the next', async () => {
    const t = hold();
    t.renewals.state.autoMs = 9000;
    grant(t.h);
    await clock.advanceAsync(P + 8999);
    expect(t.renewals.made).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(t.renewals.made.map((c) => Math.round(c.at))).toEqual([P, P + 9000]);
    await clock.advanceAsync(60_000);
    expect(t.renewals.maxOpen()).toBe(1);
    t.h.end();
  });

  it('no two visibility changes overlap either; a failed one is reported, and no lease asked follows them', async () => {
    const t = hold();
    t.changes.state.autoMs = undefined;
    await clock.advanceAsync(10_000);
    expect(t.changes.made).toHaveLength(1);
    // The visibility the receive gave ran out at 5 s; a lease asked now still runs V + P - M.
    expect(t.h.terms().leaseExpiresAtMs).toBe(clock.now() + LEASE);
    t.changes.made[0]?.fail(new Error('SQS down'));
    await clock.advanceAsync(0);
    expect(t.errors).toHaveLength(1);
    expect(t.changes.made).toHaveLength(2); // the next went out at once: it was due
    await clock.advanceAsync(1000);
    t.changes.made[1]?.answer();
    await clock.advanceAsync(0);
    expect(t.h.terms().leaseExpiresAtMs).toBe(clock.now() + LEASE);
    t.h.end();
  });

  it('a renewal refused while the handler runs is a lost lease: abort with LeaseLostError', async () => {
    const t = hold();
    grant(t.h);
    t.renewals.state.value = false;
    await clock.advanceAsync(P + 10);
    expect(t.lost()).toBe(1);
    expect(t.aborts.map((a) => a.reason.constructor)).toEqual([LeaseLostError]);
    await clock.advanceAsync(10_000);
    expect(t.renewals.made).toHaveLength(1); // no renewing a lease that is gone
    t.h.end();
  });

  it('after settle(): visibility and renewals go on until end(); a refusal then is no lost lease', async () => {
    const t = hold();
    grant(t.h);
    t.h.settle();
    await clock.advanceAsync(30_000);
    expect(t.aborts).toEqual([]);
    expect(t.renewals.made.length).toBe(Math.floor(30_000 / P));
    expect(t.changes.made.length).toBe(Math.floor(30_000 / P));
    t.renewals.state.value = false; // our own complete landed
    await clock.advanceAsync(P + 10);
    expect([t.lost(), t.aborts.length]).toEqual([0, 0]);
    const renewals = t.renewals.made.length;
    await clock.advanceAsync(10_000);
    expect(t.renewals.made.length).toBe(renewals);
    t.h.end();
    const changes = t.changes.made.length;
    await clock.advanceAsync(10_000);
    expect(t.changes.made.length).toBe(changes);
  });

  it.each([
    [EDGE - 1, undefined],
    // The second renewal is sent when the first comes back (P + L) and answered at P + 2L, just
    // as the first one's lease runs out (P + V + P - 2M): too late.
    [EDGE, P + OURS],
  ])(
    'at the bound: renewals that each take L never abort while 2L < V + P - 2M, L < 2V/3 - M (L = %d ms)',
    async (latency, firstAbortAt) => {
      const t = hold();
      t.renewals.state.autoMs = latency;
      grant(t.h);
      await clock.advanceAsync(60_000);
      expect(t.aborts[0]?.at).toBe(firstAbortAt);
      expect(t.renewals.maxOpen()).toBe(1);
      t.h.end();
    },
  );

  it.each([
    [EDGE - 1, false],
    [EDGE, true],
  ])(
    'at the bound: a claim just before a visibility change, then renewals, each taking L = %d ms',
    async (latency, aborted) => {
      // The claim's lease counts from when it is asked (P - 1), not from the visibility the
      // receipt set, so the claim has the renewals' bound: its answer (at P - 1 + L) and the first
      // renewal's, sent then (L > P), share it: 2L < V + P - 2M.
      const t = hold();
      t.renewals.state.autoMs = latency;
      await clock.advanceAsync(P - 1);
      const terms = t.h.terms();
      expect(terms.leaseExpiresAtMs).toBe(T0 + P - 1 + LEASE);
      await clock.advanceAsync(latency);
      expect(t.h.granted(CLAIM, terms)).toBe(true);
      await clock.advanceAsync(60_000);
      expect(t.aborts.length > 0).toBe(aborted);
      t.h.end();
    },
  );

  it('the watchdog runs on the monotonic clock: a wall clock stepped back does not delay it', async () => {
    const t = hold();
    t.renewals.state.autoMs = undefined;
    grant(t.h);
    clock.stepWall(-60_000);
    await clock.advanceAsync(OURS);
    expect(t.aborts.map((a) => a.at)).toEqual([OURS]);
    t.h.end();
  });
  it('a wall clock stepped an hour ahead neither fires the watchdog early nor cuts the schedules', async () => {
    const t = hold();
    t.renewals.state.autoMs = undefined;
    grant(t.h);
    clock.stepWall(3_600_000);
    await clock.advanceAsync(OURS - 1);
    expect(t.aborts).toEqual([]);
    // The schedules kept their monotonic period: one renewal out (unanswered), changes every P.
    expect(t.renewals.made.map((c) => c.at)).toEqual([P]);
    expect(t.changes.made.map((c) => c.at)).toEqual([P, 2 * P, 3 * P]);
    await clock.advanceAsync(1);
    expect(t.aborts.map((a) => a.at)).toEqual([OURS]);
    t.h.end();
  });
});

describe('Hold: waits', () => {
  async function resolvedAt(wait: Promise<boolean>): Promise<{ at: number; value: boolean }> {
    let done: { at: number; value: boolean } | undefined;
    void wait.then((value) => (done = { at: clock.monotonic(), value }));
    await clock.advanceAsync(0);
    for (let i = 0; i < 200 && !done; i += 1) await clock.advanceAsync(50);
    return done ?? { at: Number.NaN, value: false };
  }

  it('waitToRetry backs off 1 s, 2 s, ... up to a third of V, keeping the message invisible', async () => {
    const t = hold();
    expect(await resolvedAt(t.h.waitToRetry(1))).toEqual({ at: 1000, value: true });
    const start = clock.monotonic();
    const second = await resolvedAt(t.h.waitToRetry(2));
    expect(second.at - start).toBe(P);
    t.h.end();
  });

  it('waitToRetry grows to a third of V and stays there', async () => {
    const queue = { changeVisibility: async () => {} };
    const h = new Hold({
      queue,
      receiptHandle: 'r',
      idempotency: { renew: async () => true },
      clock,
      visibilityTimeoutSeconds: 30,
      skewMs: 1000,
      receivedAt: clock.now(),
      stopping: new AbortController().signal,
      abort: () => {},
      onLeaseLost: () => {},
      onError: () => {},
    });
    const at: number[] = [];
    for (const attempt of [1, 2, 3, 4, 5, 40]) {
      const start = clock.monotonic();
      at.push((await resolvedAt(h.waitToRetry(attempt))).at - start);
    }
    expect(at).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    h.end();
  });

  it('a wait ends, false, as soon as the worker stops, or at once when it already has', async () => {
    const t = hold();
    let waited: { at: number; value: boolean } | undefined;
    void t.h.waitForOther(clock.now() + 60_000).then((value) => (waited = { at: clock.monotonic(), value }));
    await clock.advanceAsync(300);
    expect(waited).toBeUndefined();
    t.stopping.abort();
    await clock.advanceAsync(0);
    expect(waited).toEqual({ at: 300, value: false });
    expect(await resolvedAt(t.h.waitToRetry(1))).toEqual({ at: 300, value: false });
    t.h.end();
  });

  it('waitForOther tries again just after the other lease can be taken over', async () => {
    const t = hold();
    expect(await resolvedAt(t.h.waitForOther(clock.now() + 700))).toEqual({ at: 700 + M + 1, value: true });
    t.h.end();
  });

  it('waits at least 100 ms, even for a lease that lapsed long ago: no tight loop', async () => {
    const t = hold();
    expect(await resolvedAt(t.h.waitForOther(clock.now() - 60_000))).toEqual({ at: 100, value: true });
    t.h.end();
  });
});
