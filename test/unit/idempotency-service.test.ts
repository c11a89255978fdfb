import { MAX_RESULT_LENGTH } from '../../src/core/idempotency-store.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { payloadHash } from '../../src/core/idempotency.js';
import { ManualClock, service } from '../helpers/fakes.js';

/** IdempotencyService.complete: what it keeps of a handler's result (core/idempotency.ts summarize). */
async function completedWith(result: unknown) {
  const store = new MemoryIdempotencyStore();
  const clock = new ManualClock();
  const idempotency = service(store, clock);
  const claimed = await idempotency.claim('k', payloadHash('{"n":1}'));
  if (claimed.kind !== 'acquired') throw new Error(claimed.kind);
  expect(await idempotency.complete(claimed.claim, result)).toBe(true);
  return store.get('q#k', clock.now());
}

describe('IdempotencyService keeps a handler result only as JSON that fits', () => {
  it('keeps the JSON text of a result', async () => {
    expect((await completedWith({ orderId: 7 }))?.result).toBe('{"orderId":7}');
    expect((await completedWith(0))?.result).toBe('0');
    expect((await completedWith(''))?.result).toBe('""');
  });

  it('keeps nothing for null, undefined, a function or an unserialisable result', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const result of [null, undefined, () => 1, circular]) {
      expect(await completedWith(result)).not.toHaveProperty('result');
    }
  });

  it('keeps a result of exactly MAX_RESULT_LENGTH characters, and none longer', async () => {
    const fits = 'x'.repeat(MAX_RESULT_LENGTH - 2);
    expect((await completedWith(fits))?.result).toBe(JSON.stringify(fits));
    expect(await completedWith(`${fits}x`)).not.toHaveProperty('result');
  });
});

describe('IdempotencyService: the completed-key cache answers with the record complete wrote', () => {
  it('a duplicate served from the cache carries the claim, its result and its times', async () => {
    const store = new MemoryIdempotencyStore();
    const clock = new ManualClock();
    const idempotency = service(store, clock, 'test', 10);
    const hash = payloadHash('{"n":1}');
    // Warm the cache's generation first, as a running worker has.
    await idempotency.claim('warm', hash);
    await Promise.resolve();
    const claimed = await idempotency.claim('k', hash);
    if (claimed.kind !== 'acquired') throw new Error(claimed.kind);
    expect(await idempotency.complete(claimed.claim, { ok: true }, hash)).toBe(true);
    const calls = store.calls.claim;
    const again = await idempotency.claim('k', hash);
    expect(store.calls.claim).toBe(calls);
    expect(again).toEqual({
      kind: 'duplicate',
      record: {
        pk: 'q#k',
        status: 'COMPLETED',
        owner: claimed.claim.owner,
        fence: 1,
        leaseExpiresAtMs: clock.now(),
        expiresAt: Math.ceil(clock.now() / 1000) + 3600,
        attempts: 1,
        payloadHash: hash,
        firstSeenAtMs: clock.now(),
        updatedAtMs: clock.now(),
        completedAtMs: clock.now(),
        result: '{"ok":true}',
      },
    });
  });
});
