import { StoreUnavailableError } from '../../src/core/errors.js';
import { payloadHash, type IdempotencyService } from '../../src/core/idempotency.js';
import type { Claim } from '../../src/core/idempotency-store.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { ManualClock, ambiguousStore, service } from '../helpers/fakes.js';

/**
 * Own writes recognised (issue 19, item 1) on the in-memory twin: a write applied and then
 * answered with an error, met again by the caller's retry (`throw`: same owner token) or the
 * SDK's (`replay`: the same request), is the success it was.
 */
const HASH = payloadHash('{"n":1}');

describe('IdempotencyService over a store that applies a write, then answers it with an error', () => {
  it("a claim retried with the delivery's owner token is acquired: fence 1, attempt 1, not in_progress", async () => {
    const clock = new ManualClock();
    const inner = new MemoryIdempotencyStore();
    const store = ambiguousStore(inner, 'throw', ['claim']);
    const idempotency = service(store, clock, 'pod-a');
    const owner = idempotency.ownerToken();
    await expect(idempotency.claim('k', HASH, {}, false, owner)).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    clock.advance(1_000);
    expect(await idempotency.claim('k', HASH, {}, false, owner)).toEqual({
      kind: 'acquired',
      takeover: false,
      claim: { pk: 'q#k', owner, fence: 1, attempt: 1 },
    });
    // The retry asked for a lease 1 s later than the first attempt wrote: the stored lease follows.
    expect(await inner.get('q#k', clock.now())).toMatchObject({
      owner,
      fence: 1,
      attempts: 1,
      leaseExpiresAtMs: clock.now() + 30_000,
      updatedAtMs: clock.now(),
    });
    expect(store.ambiguous).toBe(1);
    expect(inner.calls.claim).toBe(2);
  });

  it('a claim retried with a new owner token is not ours: in_progress for the lease the first wrote', async () => {
    const clock = new ManualClock();
    const idempotency = service(ambiguousStore(new MemoryIdempotencyStore(), 'throw', ['claim']), clock);
    await expect(idempotency.claim('k', HASH)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await idempotency.claim('k', HASH)).toEqual({
      kind: 'in_progress',
      leaseExpiresAtMs: clock.now() + 30_000,
    });
  });

  it('complete, fail and fail with a reason retried after an error answer are true, each state kept', async () => {
    const clock = new ManualClock();
    const inner = new MemoryIdempotencyStore();
    const cases = [
      ['a', 'complete', (s: IdempotencyService, claim: Claim) => s.complete(claim, { ok: 1 }), 'COMPLETED'],
      ['b', 'fail', (s: IdempotencyService, claim: Claim) => s.fail(claim, 'boom'), 'FAILED'],
      [
        'c',
        'fail',
        (s: IdempotencyService, claim: Claim) => s.fail(claim, 'bad', 'PERMANENT_ERROR'),
        'DEAD_LETTERED',
      ],
    ] as const;
    for (const [key, operation, write, status] of cases) {
      const idempotency = service(ambiguousStore(inner, 'throw', [operation]), clock);
      const claimed = await idempotency.claim(key, HASH);
      if (claimed.kind !== 'acquired') throw new Error('not acquired');
      await expect(write(idempotency, claimed.claim)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(await write(idempotency, claimed.claim)).toBe(true);
      expect(await inner.get(`q#${key}`, clock.now())).toMatchObject({ status, owner: claimed.claim.owner });
    }
    expect(await inner.get('q#c', clock.now())).toMatchObject({
      lastError: 'bad',
      deadLetterReason: 'PERMANENT_ERROR',
    });
  });
});

describe('a store whose writes are applied twice (the SDK retrying an answer it lost)', () => {
  it('answers every hot-path write as the first attempt did', async () => {
    const clock = new ManualClock();
    const inner = new MemoryIdempotencyStore();
    const writes = ['claim', 'renew', 'complete', 'fail', 'markDeadLettered'] as const;
    const store = ambiguousStore(inner, 'replay', writes, 10);
    const idempotency = service(store, clock);
    const first = await idempotency.claim('a', HASH);
    expect(first).toMatchObject({ kind: 'acquired', takeover: false, claim: { fence: 1, attempt: 1 } });
    if (first.kind !== 'acquired') return;
    expect(await idempotency.renew(first.claim, clock.now() + 60_000)).toBe(true);
    expect(await idempotency.complete(first.claim, 'done')).toBe(true);
    const second = await idempotency.claim('b', HASH);
    if (second.kind !== 'acquired') throw new Error('not acquired');
    expect(await idempotency.fail(second.claim, 'bad', 'PERMANENT_ERROR')).toBe(true);
    expect(await idempotency.markDeadLettered('q#b', 'copy-1')).toBe(true);
    expect(await inner.get('q#b', clock.now())).toMatchObject({
      status: 'DEAD_LETTERED',
      deadLetterId: 'copy-1',
    });
    expect(store.ambiguous).toBe(6);
    expect(inner.calls).toMatchObject({ claim: 4, renew: 2, complete: 2, fail: 2, markDeadLettered: 2 });
  });
});

describe('IdempotencyService owner tokens and dead-lettering', () => {
  it('makes owner tokens `<instanceId>:<uuid>`, a new one each time, and claims with a new one by default', async () => {
    const idempotency = service(new MemoryIdempotencyStore(), new ManualClock(), 'pod-7');
    const a = idempotency.ownerToken();
    expect(a).toMatch(/^pod-7:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(idempotency.ownerToken()).not.toBe(a);
    const claimed = await idempotency.claim('k', HASH);
    expect(claimed.kind === 'acquired' && claimed.claim.owner).toMatch(/^pod-7:[0-9a-f-]{36}$/);
  });

  it('fail with a reason dead-letters the key for good; markDeadLettered stamps the copy at the clock', async () => {
    const clock = new ManualClock();
    const store = new MemoryIdempotencyStore();
    const idempotency = service(store, clock);
    const claimed = await idempotency.claim('k', HASH);
    if (claimed.kind !== 'acquired') throw new Error('not acquired');
    expect(await idempotency.fail(claimed.claim, 'x'.repeat(2000), 'PERMANENT_ERROR')).toBe(true);
    const dead = await store.get('q#k', clock.now());
    expect(dead).toMatchObject({ status: 'DEAD_LETTERED', deadLetterReason: 'PERMANENT_ERROR' });
    expect(dead?.lastError).toHaveLength(1024);
    clock.advance(500);
    expect(await idempotency.markDeadLettered('q#k', 'copy-1')).toBe(true);
    expect(await store.get('q#k', clock.now())).toMatchObject({
      deadLetterId: 'copy-1',
      updatedAtMs: clock.now(),
    });
    clock.advance(60_000);
    expect(await idempotency.claim('k', HASH)).toMatchObject({ kind: 'dead_lettered' });
  });
});
