import { recordKey } from '../../src/core/idempotency-store.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { listRecords } from '../../src/seeding/seed.js';

const NOW = 1_700_000_000_000;

/** One IN_PROGRESS record per key, as a worker's claim leaves it. */
async function claimed(store: MemoryIdempotencyStore, keys: readonly string[]): Promise<void> {
  for (const key of keys) {
    const { pk, hashed } = recordKey('q', key);
    await store.claim({
      pk,
      key: hashed ? key : undefined,
      payloadHash: 'v2:h',
      owner: `o-${pk}`,
      now: NOW,
      leaseExpiresAtMs: NOW + 60_000,
      expiresAt: NOW / 1000 + 3600,
    });
  }
}

/** What GET /records and `records show` print: listRecords over the namespace's records. */
describe('listRecords (seeding/seed.ts)', () => {
  it('gives each record its key: the one in pk, or the stored one when pk holds its hash; key first', async () => {
    const store = new MemoryIdempotencyStore();
    const long = 'k'.repeat(3000);
    await claimed(store, ['short', long]);
    const page = await listRecords(store, 'q', { limit: 10 }, NOW);
    const byKey = new Map(page.records.map((r) => [r.key, r]));
    expect([...byKey.keys()].sort()).toEqual([long, 'short']);
    expect(byKey.get('short')?.pk).toBe('q#short');
    expect(byKey.get(long)?.pk).toBe(recordKey('q', long).pk);
    for (const record of page.records) expect(Object.keys(record)[0]).toBe('key');
    expect(page.next).toBeNull();
  });

  it('passes the status and the cursor on, and pages with `next`', async () => {
    const store = new MemoryIdempotencyStore();
    await claimed(store, ['a', 'b', 'c']);
    const first = await listRecords(store, 'q', { limit: 2, status: 'IN_PROGRESS', cursor: undefined }, NOW);
    expect(first.records).toHaveLength(2);
    expect(first.next).not.toBeNull();
    const rest = await listRecords(store, 'q', { limit: 2, cursor: first.next ?? undefined }, NOW);
    expect([...first.records, ...rest.records].map((r) => r.key).sort()).toEqual(['a', 'b', 'c']);
    expect(await listRecords(store, 'q', { limit: 2, status: 'COMPLETED' }, NOW)).toEqual({
      records: [],
      next: null,
    });
  });
});
