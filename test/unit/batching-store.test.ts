import type { ClaimRequest, IdempotencyStore } from '../../src/core/idempotency-store.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { BatchingStore, type BatchingStoreOptions } from '../../src/worker/batching-store.js';
import { MemoryStoreBatch } from '../helpers/memory-store-batch.js';
import { ManualClock } from '../helpers/manual-clock.js';

const NOW = 1_750_000_000_000;
const WINDOW_MS = 100;
const TIMEOUT_MS = 3000;
const BACKOFF_MS = 50;

/** Wall time starts at NOW, monotonic at 0; only advance() and stepWall() move them. */
let clock: ManualClock;

beforeEach(() => {
  clock = new ManualClock(NOW, 0);
});

/** The single calls that reach the wrapped store, by method, in order. */
function recording(store: IdempotencyStore): {
  store: IdempotencyStore;
  calls: string[];
  claims: ClaimRequest[];
} {
  const calls: string[] = [];
  const claims: ClaimRequest[] = [];
  const proxy = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        if (property === 'claim') claims.push(args[0] as ClaimRequest);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls, claims };
}

function setup(options: Partial<BatchingStoreOptions> = {}) {
  const memory = new MemoryIdempotencyStore();
  const batch = new MemoryStoreBatch(memory);
  const inner = recording(memory);
  const store = new BatchingStore(inner.store, batch, {
    windowMs: WINDOW_MS,
    timeoutMs: TIMEOUT_MS,
    throttleBackoffMs: BACKOFF_MS,
    clock,
    ...options,
  });
  return { memory, batch, singles: inner.calls, singleClaims: inner.claims, store };
}

let serial = 0;
function request(pk = `ns#k${(serial += 1)}`, owner = `w:${pk}`): ClaimRequest {
  return {
    pk,
    payloadHash: 'v2:h',
    owner,
    now: NOW,
    leaseExpiresAtMs: NOW + 30_000,
    expiresAt: NOW / 1000 + 3600,
    firstDelivery: true,
  };
}

const acquiredFresh = (r: ClaimRequest) => ({
  kind: 'acquired',
  claim: { pk: r.pk, owner: r.owner, fence: 1, attempt: 1 },
  takeover: false,
});

describe('BatchingStore', () => {
  it("sends one receive's ten first claims as one request, settled by it with no single call", async () => {
    const { batch, singles, store, memory } = setup();
    const requests = Array.from({ length: 10 }, () => request());
    const results = Promise.all(requests.map((r) => store.claim(r)));
    expect(batch.requests).toHaveLength(0);
    await clock.advanceAsync(0);
    expect(await results).toEqual(requests.map(acquiredFresh));
    expect(batch.requests.map((r) => r.length)).toEqual([10]);
    expect(singles).toEqual([]);
    expect(await memory.get(requests[0]?.pk ?? '', NOW)).toMatchObject({ status: 'IN_PROGRESS', fence: 1 });
  });

  it('holds a complete for at most the window, then sends it', async () => {
    const { batch, store } = setup();
    const r = request();
    const claimed = await Promise.all([store.claim(r), clock.advanceAsync(0)]);
    if (claimed[0].kind !== 'acquired') throw new Error('not acquired');
    const done = store.complete(claimed[0].claim, NOW, '{"ok":1}');
    await clock.advanceAsync(WINDOW_MS - 1);
    expect(batch.requests).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(await done).toBe(true);
    expect(batch.requests[1]).toEqual([
      { kind: 'complete', claim: claimed[0].claim, now: NOW, result: '{"ok":1}' },
    ]);
  });

  it('ends the window early when every message the worker holds has its complete waiting', async () => {
    let held = 3;
    const { batch, store } = setup({ held: () => held });
    const requests = [request(), request(), request()];
    const claims = await Promise.all([
      Promise.all(requests.map((r) => store.claim(r))),
      clock.advanceAsync(0),
    ]).then(([results]) => results.map((c) => (c.kind === 'acquired' ? c.claim : undefined)));
    const [a, b, c] = claims;
    if (a === undefined || b === undefined || c === undefined) throw new Error('not acquired');
    const first = store.complete(a, NOW);
    const second = store.complete(b, NOW);
    await clock.advanceAsync(0);
    // Two of three held messages wait: the third could still join, so the window runs on.
    expect(batch.requests).toHaveLength(1);
    const third = store.complete(c, NOW);
    await clock.advanceAsync(0);
    // All three wait: nothing else could join but a new receive's claims, so no wait for the window.
    expect(await Promise.all([first, second, third])).toEqual([true, true, true]);
    expect(batch.requests.map((r) => r.length)).toEqual([3, 3]);
    held = 1;
    const [again] = await Promise.all([store.claim(request()), clock.advanceAsync(0)]);
    if (again.kind !== 'acquired') throw new Error('not acquired');
    const alone = store.complete(again.claim, NOW);
    await clock.advanceAsync(0);
    expect(await alone).toBe(true);
    expect(batch.requests).toHaveLength(4);
  });

  it('ends the window early when the other held messages have their first claims unanswered', async () => {
    const { batch, store } = setup({ held: () => 3 });
    const [claimed] = await Promise.all([store.claim(request()), clock.advanceAsync(0)]);
    if (claimed.kind !== 'acquired') throw new Error('not acquired');
    batch.faults.push({ kind: 'hang' });
    const others = [store.claim(request()), store.claim(request())];
    await clock.advanceAsync(0);
    expect(batch.requests.map((r) => r.length)).toEqual([1, 2]);
    // The two other held messages can complete only after their claims' round trip: no one else
    // could join this complete within the window, so it goes on the next turn.
    const done = store.complete(claimed.claim, NOW);
    await clock.advanceAsync(0);
    expect(batch.requests.map((r) => r.length)).toEqual([1, 2, 1]);
    expect(await done).toBe(true);
    await clock.advanceAsync(TIMEOUT_MS);
    expect((await Promise.all(others)).map((r) => r.kind)).toEqual(['acquired', 'acquired']);
  });

  it('without a count of held messages, a lone complete waits for the whole window', async () => {
    const { batch, store } = setup();
    const [claimed] = await Promise.all([store.claim(request()), clock.advanceAsync(0)]);
    if (claimed.kind !== 'acquired') throw new Error('not acquired');
    void store.complete(claimed.claim, NOW);
    await clock.advanceAsync(WINDOW_MS - 1);
    expect(batch.requests).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(batch.requests).toHaveLength(2);
  });

  it('takes waiting completes along with the next claims, in one request', async () => {
    const { batch, store } = setup();
    const first = request();
    const [claimed] = await Promise.all([store.claim(first), clock.advanceAsync(0)]);
    if (claimed.kind !== 'acquired') throw new Error('not acquired');
    const done = store.complete(claimed.claim, NOW);
    await clock.advanceAsync(10);
    const next = store.claim(request());
    await clock.advanceAsync(0);
    expect(await done).toBe(true);
    expect((await next).kind).toBe('acquired');
    expect(batch.requests.map((r) => r.map((s) => s.kind))).toEqual([['insert'], ['complete', 'insert']]);
  });

  it('sends at most 25 statements a request, at once when 25 wait', async () => {
    const { batch, store } = setup();
    const requests = Array.from({ length: 30 }, () => request());
    const results = Promise.all(requests.map((r) => store.claim(r)));
    expect(batch.requests.map((r) => r.length)).toEqual([25]);
    await clock.advanceAsync(0);
    expect(await results).toEqual(requests.map(acquiredFresh));
    expect(batch.requests.map((r) => r.length)).toEqual([25, 5]);
  });

  it('never puts a key twice in one request: the second write of it goes through the single call', async () => {
    const { batch, singles, store } = setup();
    const r = request();
    const twin = { ...r, owner: 'w:other' };
    const results = Promise.all([store.claim(r), store.claim(twin)]);
    await clock.advanceAsync(0);
    const [one, two] = await results;
    expect(batch.requests.map((b) => b.length)).toEqual([1]);
    // The twin's single claim ran first and won; the batch's INSERT was then refused, and read.
    expect(singles).toEqual(['claim', 'claim']);
    expect([one.kind, two.kind]).toEqual(['in_progress', 'acquired']);
    expect(store.stats.duplicates).toBe(1);
  });

  it('answers a refused claim through the single call, which reads the record: duplicate', async () => {
    const { memory, singleClaims, store } = setup();
    const r = request();
    const taken = await memory.claim({ ...r, owner: 'w:earlier' });
    if (taken.kind !== 'acquired') throw new Error('setup');
    await memory.complete(taken.claim, NOW);
    const result = store.claim(r);
    await clock.advanceAsync(0);
    expect(await result).toMatchObject({ kind: 'duplicate', record: { owner: 'w:earlier' } });
    // The short claim would be refused again: the single call is the full claim.
    expect(singleClaims).toEqual([{ ...r, firstDelivery: false }]);
    expect(store.stats.refused).toBe(1);
  });

  it('answers a refused complete through the single call: false when the claim was taken over', async () => {
    const { memory, singles, store } = setup();
    const r = request();
    const [mine] = await Promise.all([store.claim(r), clock.advanceAsync(0)]);
    if (mine.kind !== 'acquired') throw new Error('setup');
    const later = NOW + 60_000;
    expect((await memory.claim({ ...r, owner: 'w:next', now: later, firstDelivery: false })).kind).toBe(
      'acquired',
    );
    const done = store.complete(mine.claim, later);
    await clock.advanceAsync(WINDOW_MS);
    expect(await done).toBe(false);
    expect(singles).toEqual(['complete']);
    expect(await memory.get(r.pk, later)).toMatchObject({ owner: 'w:next', status: 'IN_PROGRESS' });
  });

  it('recognises its own writes when a request was applied and answered with a 500', async () => {
    const { batch, memory, singles, store } = setup();
    const held = request();
    const [claimed] = await Promise.all([store.claim(held), clock.advanceAsync(0)]);
    if (claimed.kind !== 'acquired') throw new Error('setup');
    batch.faults.push({ kind: 'fail-after-apply' });
    const fresh = request();
    const results = Promise.all([store.complete(claimed.claim, NOW, '"r"'), store.claim(fresh)]);
    await clock.advanceAsync(0);
    expect(await results).toEqual([true, acquiredFresh(fresh)]);
    expect(singles.sort()).toEqual(['claim', 'complete']);
    expect(store.stats.failedRequests).toBe(1);
    expect(await memory.get(held.pk, NOW)).toMatchObject({ status: 'COMPLETED', result: '"r"', fence: 1 });
    expect(await memory.get(fresh.pk, NOW)).toMatchObject({ owner: fresh.owner, fence: 1, attempts: 1 });
  });

  it('sends the writes of a request that failed having written nothing through the single calls', async () => {
    const { batch, memory, store } = setup();
    batch.faults.push({ kind: 'fail' });
    const r = request();
    const result = store.claim(r);
    await clock.advanceAsync(0);
    expect(await result).toEqual(acquiredFresh(r));
    expect(await memory.get(r.pk, NOW)).toMatchObject({ owner: r.owner, fence: 1 });
  });

  it('aborts a request that outlasts its timeout and goes on with the single calls', async () => {
    const { batch, singles, store } = setup();
    batch.faults.push({ kind: 'hang' });
    const r = request();
    const result = store.claim(r);
    await clock.advanceAsync(TIMEOUT_MS - 1);
    expect(singles).toEqual([]);
    await clock.advanceAsync(1);
    expect(await result).toEqual(acquiredFresh(r));
    expect(batch.signals[0]?.aborted).toBe(true);
    expect(singles).toEqual(['claim']);
  });

  it('tells the store health of every request: ok when answered, unavailable when it failed or timed out as a whole', async () => {
    const seen: (string | undefined)[] = [];
    const { batch, store } = setup({
      onRequest: (failure) =>
        seen.push(failure === undefined ? undefined : `${failure.name}: ${failure.message}`),
    });
    const first = store.claim(request());
    await clock.advanceAsync(0);
    await first;
    expect(seen).toEqual([undefined]);
    batch.faults.push({ kind: 'hang' });
    const second = store.claim(request());
    await clock.advanceAsync(TIMEOUT_MS);
    await second;
    batch.faults.push({ kind: 'fail' });
    const third = store.claim(request());
    await clock.advanceAsync(0);
    await third;
    expect(seen).toEqual([
      undefined,
      `StoreUnavailableError: idempotency store batch took longer than ${TIMEOUT_MS} ms`,
      expect.stringMatching(/^StoreUnavailableError: idempotency store batch failed: .*InternalServerError/),
    ]);
  });

  it('retries a throttled statement alone after the backoff; the others are settled at once', async () => {
    const { batch, singles, store } = setup();
    const [a, b] = [request(), request()];
    batch.faults.push({ kind: 'throttle', pks: [b.pk] });
    const first = store.claim(a);
    const second = store.claim(b);
    await clock.advanceAsync(0);
    expect(await first).toEqual(acquiredFresh(a));
    await clock.advanceAsync(BACKOFF_MS - 1);
    expect(singles).toEqual([]);
    await clock.advanceAsync(1);
    expect(await second).toEqual(acquiredFresh(b));
    expect(singles).toEqual(['claim']);
    expect(store.stats).toMatchObject({ requests: 1, applied: 1, throttled: 1 });
  });

  it('leaves claims without the first-delivery hint, renewals and failures to the single calls', async () => {
    const { batch, singles, store } = setup();
    const r = { ...request(), firstDelivery: false };
    const claimed = await store.claim(r);
    if (claimed.kind !== 'acquired') throw new Error('setup');
    expect(await store.renew(claimed.claim, NOW + 60_000, NOW)).toBe(true);
    expect(await store.fail(claimed.claim, NOW, 'boom')).toBe(true);
    expect(singles).toEqual(['claim', 'renew', 'fail']);
    expect(batch.requests).toHaveLength(0);
  });

  it('stops batching for good after 3 answered requests whose statements all failed (AccessDenied)', async () => {
    const reasons: string[] = [];
    const { batch, singles, store: giving } = setup({ onGiveUp: (r) => void reasons.push(r) });
    batch.faults.push({ kind: 'deny' }, { kind: 'fail' }, { kind: 'deny' }, { kind: 'deny' });
    for (let i = 0; i < 3; i += 1) {
      const r = request();
      const result = giving.claim(r);
      await clock.advanceAsync(0);
      expect(await result).toEqual(acquiredFresh(r));
    }
    // The failed request (an outage, perhaps) did not count: one denied request more.
    expect(reasons).toEqual([]);
    expect(giving.batching).toBe(true);
    const fourth = giving.claim(request());
    await clock.advanceAsync(0);
    expect((await fourth).kind).toBe('acquired');
    expect(reasons).toEqual([expect.stringMatching(/^3 batch requests in a row/)]);
    expect(giving.batching).toBe(false);
    const sent = batch.requests.length;
    const fifth = request();
    expect(await giving.claim(fifth)).toEqual(acquiredFresh(fifth));
    expect(batch.requests).toHaveLength(sent);
    expect(singles.filter((c) => c === 'claim')).toHaveLength(5);
  });

  it('with a window of 0, sends a complete on the next turn of the event loop', async () => {
    const { batch, store } = setup({ windowMs: 0 });
    const r = request();
    const [claimed] = await Promise.all([store.claim(r), clock.advanceAsync(0)]);
    if (claimed.kind !== 'acquired') throw new Error('setup');
    const done = store.complete(claimed.claim, NOW);
    await clock.advanceAsync(0);
    expect(await done).toBe(true);
    expect(batch.requests).toHaveLength(2);
  });
});
