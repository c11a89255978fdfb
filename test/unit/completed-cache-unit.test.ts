import { CACHE_CHECK_MS, CompletedKeyCache, cacheQuietMs } from '../../src/core/completed-cache.js';
import type { IdempotencyRecord } from '../../src/core/idempotency-store.js';

const T0 = 1_750_000_000_000;
const HASH = `v2:${'a'.repeat(64)}`;

function completed(pk: string, extra: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  return {
    pk,
    status: 'COMPLETED',
    owner: 'w:1',
    fence: 1,
    leaseExpiresAtMs: T0,
    expiresAt: T0 / 1000 + 3600,
    attempts: 1,
    payloadHash: HASH,
    firstSeenAtMs: T0,
    updatedAtMs: T0,
    completedAtMs: T0,
    ...extra,
  };
}

/** A cache on a hand-moved monotonic clock, whose generation reads the test answers by hand. */
function setup(capacity = 10) {
  let mono = 0;
  const reads: { resolve: (generation: number) => void; reject: (error: Error) => void }[] = [];
  const cache = new CompletedKeyCache(
    capacity,
    () => new Promise<number>((resolve, reject) => reads.push({ resolve, reject })),
    () => mono,
  );
  const settle = async () => {
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
  };
  /** Reads the generation (answered `generation`): the cache is fresh afterwards. */
  const fresh = async (generation = 1) => {
    cache.get('none', HASH, T0);
    reads.at(-1)?.resolve(generation);
    await settle();
  };
  return {
    cache,
    reads,
    settle,
    fresh,
    advance: (ms: number) => void (mono += ms),
  };
}

describe('CompletedKeyCache on its own', () => {
  it('answers a remembered key with the same payload, while fresh', async () => {
    const { cache, fresh } = setup();
    await fresh();
    cache.add(completed('q#k'), cache.generation);
    expect(cache.get('q#k', HASH, T0)?.pk).toBe('q#k');
    expect(cache.size).toBe(1);
  });

  it('does not answer a different payload (the store decides: payload mismatch)', async () => {
    const { cache, fresh } = setup();
    await fresh();
    cache.add(completed('q#k'), cache.generation);
    expect(cache.get('q#k', `v2:${'b'.repeat(64)}`, T0)).toBeUndefined();
  });

  it('drops an entry once its record has expired, never answering from it', async () => {
    const { cache, fresh } = setup();
    await fresh();
    cache.add(completed('q#k', { expiresAt: T0 / 1000 + 10 }), cache.generation);
    expect(cache.get('q#k', HASH, T0 + 9_999)).toBeDefined();
    expect(cache.get('q#k', HASH, T0 + 10_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps at most its capacity, evicting the least recently used', async () => {
    const { cache, fresh } = setup(2);
    await fresh();
    cache.add(completed('q#a'), cache.generation);
    cache.add(completed('q#b'), cache.generation);
    expect(cache.get('q#a', HASH, T0)).toBeDefined(); // a is now the most recently used
    cache.add(completed('q#c'), cache.generation);
    expect(cache.size).toBe(2);
    expect(cache.get('q#b', HASH, T0)).toBeUndefined();
    expect(cache.get('q#a', HASH, T0)).toBeDefined();
    expect(cache.get('q#c', HASH, T0)).toBeDefined();
  });

  it('remembers only COMPLETED records, and only under the generation it knows', async () => {
    const { cache, fresh } = setup();
    cache.add(completed('q#early'), undefined);
    await fresh(7);
    cache.add(completed('q#old'), 6);
    cache.add(completed('q#failed', { status: 'FAILED' }), 7);
    expect(cache.size).toBe(0);
    cache.add(completed('q#k'), 7);
    expect(cache.size).toBe(1);
  });

  it('re-reads the generation once CACHE_CHECK_MS has passed, one read at a time', async () => {
    const { cache, reads, settle, fresh, advance } = setup();
    await fresh();
    cache.add(completed('q#k'), cache.generation);
    advance(CACHE_CHECK_MS - 1);
    cache.get('q#k', HASH, T0);
    expect(reads).toHaveLength(1);
    advance(1);
    cache.get('q#k', HASH, T0);
    cache.get('q#k', HASH, T0);
    expect(reads).toHaveLength(2);
    reads[1]?.resolve(1);
    await settle();
    expect(cache.get('q#k', HASH, T0)).toBeDefined();
  });

  it('stops answering two checks after its last read, until a read succeeds', async () => {
    const { cache, reads, settle, fresh, advance } = setup();
    await fresh();
    cache.add(completed('q#k'), cache.generation);
    advance(2 * CACHE_CHECK_MS - 1);
    expect(cache.get('q#k', HASH, T0)).toBeDefined();
    reads.at(-1)?.reject(new Error('store down'));
    await settle();
    advance(1);
    expect(cache.get('q#k', HASH, T0)).toBeUndefined();
    reads.at(-1)?.resolve(1);
    await settle();
    expect(cache.get('q#k', HASH, T0)).toBeDefined();
  });

  it('empties when the generation changes (records clear or forget)', async () => {
    const { cache, reads, settle, fresh, advance } = setup();
    await fresh(1);
    cache.add(completed('q#k'), cache.generation);
    advance(CACHE_CHECK_MS);
    cache.get('q#k', HASH, T0);
    reads.at(-1)?.resolve(2);
    await settle();
    expect(cache.generation).toBe(2);
    expect(cache.size).toBe(0);
    expect(cache.get('q#k', HASH, T0)).toBeUndefined();
  });

  it('measures freshness on the monotonic clock: wall time stepping back changes nothing', async () => {
    const { cache, reads, fresh, advance } = setup();
    await fresh();
    cache.add(completed('q#k'), cache.generation);
    advance(CACHE_CHECK_MS);
    // The wall clock stepped back a minute: the record is still live, the read is still due.
    expect(cache.get('q#k', HASH, T0 - 60_000)).toBeDefined();
    expect(reads).toHaveLength(2);
    advance(CACHE_CHECK_MS);
    expect(cache.get('q#k', HASH, T0 - 60_000)).toBeUndefined();
  });

  it('is off with capacity 0', async () => {
    const { cache, fresh } = setup(0);
    await fresh();
    cache.add(completed('q#k'), cache.generation);
    expect(cache.size).toBe(0);
    expect(cache.get('q#k', HASH, T0)).toBeUndefined();
  });
});

describe('CompletedKeyCache: the edges mutation testing found unchecked', () => {
  it('records clear and forget wait two checks plus the skew margin', () => {
    expect(cacheQuietMs(500)).toBe(2500);
    expect(cacheQuietMs(0)).toBe(2 * CACHE_CHECK_MS);
  });

  it('a cache of size 0 never reads the generation', () => {
    const { cache, reads } = setup(0);
    expect(cache.get('q#k', HASH, T0)).toBeUndefined();
    expect(reads).toHaveLength(0);
  });

  it('remembers nothing before it has read a generation, even when told none either', () => {
    const { cache } = setup();
    cache.add(completed('q#k'), undefined);
    expect(cache.size).toBe(0);
  });
});
