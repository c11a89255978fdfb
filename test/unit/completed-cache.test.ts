import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { processMessage } from '../../src/core/pipeline.js';
import { ManualClock, message, pipelineDeps, service } from '../helpers/fakes.js';
import type { PipelineDeps } from '../../src/core/pipeline.js';

/**
 * A completion is remembered only once the cache knows the records generation (read lazily on
 * the first claim): one key handled first, so that the keys under test do get into the cache.
 */
async function warm(deps: PipelineDeps): Promise<void> {
  await processMessage(message('warm-up'), deps);
}

describe('completed-key cache', () => {
  let store: MemoryIdempotencyStore;
  let clock: ManualClock;

  beforeEach(() => {
    store = new MemoryIdempotencyStore();
    clock = new ManualClock();
  });

  it('answers hot duplicates without a store call', async () => {
    const deps = pipelineDeps(service(store, clock, 'w', 100), () => {}, clock);
    await processMessage(message('k1'), deps);
    // The first completion began before the records generation was first read: not remembered.
    expect((await processMessage(message('k1'), deps)).outcome).toBe('duplicate');
    const results = [];
    for (let i = 0; i < 5; i += 1) results.push((await processMessage(message('k1'), deps)).outcome);
    expect(results).toEqual(Array(5).fill('duplicate'));
    expect(store.calls.claim).toBe(2);
    expect(store.calls.generation).toBe(1);
  });

  it('still sends a different payload for a cached key to the store (payload mismatch)', async () => {
    const deps = pipelineDeps(service(store, clock, 'w', 100), () => {}, clock);
    await warm(deps);
    await processMessage(message('k1', { v: 1 }), deps);
    const before = store.calls.claim;
    expect((await processMessage(message('k1', { v: 1 }), deps)).outcome).toBe('duplicate');
    expect(store.calls.claim).toBe(before); // k1 is in the cache
    expect((await processMessage(message('k1', { v: 2 }), deps)).outcome).toBe('payload_mismatch');
    expect(store.calls.claim).toBe(before + 1);
  });

  it('answers duplicate, never payload mismatch, for a record hashed by the previous version', async () => {
    const deps = pipelineDeps(service(store, clock, 'w', 100), () => {}, clock);
    const old = service(store, clock, 'v1-worker', 0);
    const claim = await old.claim('k1', 'c'.repeat(64)); // a bare hex hash: version 1
    if (claim.kind !== 'acquired') throw new Error('not acquired');
    await old.complete(claim.claim, undefined);
    const outcomes = [];
    for (let i = 0; i < 3; i += 1)
      outcomes.push((await processMessage(message('k1', { v: 2 }), deps)).outcome);
    expect(outcomes).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(store.calls.claim).toBeLessThan(4);
  });

  it('forgets keys past their retention, so they can be handled again', async () => {
    let runs = 0;
    const deps = pipelineDeps(service(store, clock, 'w', 100), () => void (runs += 1), clock);
    await warm(deps);
    await processMessage(message('k1'), deps);
    const before = store.calls.claim;
    expect((await processMessage(message('k1'), deps)).outcome).toBe('duplicate');
    expect(store.calls.claim).toBe(before); // k1 is in the cache
    // Only the wall clock moves: the cache is still fresh, its entry's expiry alone must say no.
    clock.stepWall(3601 * 1000);
    expect((await processMessage(message('k1'), deps)).outcome).toBe('success');
    expect(runs).toBe(3);
  });

  it('keeps at most its capacity, dropping the least recently used', async () => {
    const deps = pipelineDeps(service(store, clock, 'w', 2), () => {}, clock);
    await warm(deps);
    for (const key of ['a', 'b', 'c']) await processMessage(message(key), deps);
    const before = store.calls.claim;
    await processMessage(message('c'), deps); // cached
    await processMessage(message('b'), deps); // cached
    expect(store.calls.claim).toBe(before);
    await processMessage(message('a'), deps); // evicted: goes to the store
    expect(store.calls.claim - before).toBe(1);
  });

  it('is off with size 0', async () => {
    const deps = pipelineDeps(service(store, clock, 'w', 0), () => {}, clock);
    await processMessage(message('k1'), deps);
    await processMessage(message('k1'), deps);
    expect(store.calls.claim).toBe(2);
  });
});

describe('completed-key cache across a wall-clock step', () => {
  it('after the wall clock steps back 60 s, records forget still reaches the cache', async () => {
    const store = new MemoryIdempotencyStore();
    const clock = new ManualClock();
    let runs = 0;
    const deps = pipelineDeps(service(store, clock, 'w', 100), () => void (runs += 1), clock);
    for (let i = 0; i < 3; i += 1) await processMessage(message('k1'), deps);
    const claims = store.calls.claim;
    expect((await processMessage(message('k1'), deps)).outcome).toBe('duplicate');
    expect(store.calls.claim).toBe(claims); // answered from the cache
    clock.stepWall(-60_000);
    // records forget: bump, wait until every cache has re-read, delete, bump, wait.
    await store.bumpGeneration('q');
    await store.forget('q#k1');
    await store.bumpGeneration('q');
    for (let i = 0; i < 5; i += 1) {
      clock.advance(1000);
      await processMessage(message(`other-${i}`), deps);
    }
    expect((await processMessage(message('k1'), deps)).outcome).toBe('success');
    expect(runs).toBe(7);
  });
});
