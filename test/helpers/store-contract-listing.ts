import {
  MARKER_PREFIX,
  type Claim,
  type IdempotencyRecord,
  type ListQuery,
  type RecordStore,
} from '../../src/core/idempotency-store.js';
import { EXPIRY_MS, T0, claimAt, type FullStore } from './store-contract-dynamodb.js';

/** Every record that list() yields for the query, page by page; fails if a page exceeds the limit. */
async function listAll(store: RecordStore, query: ListQuery): Promise<IdempotencyRecord[]> {
  const records: IdempotencyRecord[] = [];
  let cursor = query.cursor;
  for (let page = 0; page < 100; page += 1) {
    const out = await store.list({ ...query, cursor });
    if (out.records.length > query.limit) throw new Error(`page of ${out.records.length} > ${query.limit}`);
    records.push(...out.records);
    if (out.cursor === undefined) return records;
    cursor = out.cursor;
  }
  throw new Error('list() kept returning a cursor');
}

/**
 * The store contract's cases for the records as a collection: the generation kept beside them,
 * expiry as seen by get() and list(), listing page by page with a cursor, and clear().
 */
export function describeListing(
  store: () => FullStore,
  key: (label: string) => string,
  take: (pk: string, now: number) => Promise<Claim>,
): void {
  describe('listing, generation and clear', () => {
    it('keeps a records generation per namespace, outside the records', async () => {
      const namespace = key('generation').replace(/#/g, '-');
      expect(await store().generation(namespace)).toBe(0);
      expect(await store().bumpGeneration(namespace)).toBe(1);
      expect(await store().bumpGeneration(namespace)).toBe(2);
      expect(await store().generation(namespace)).toBe(2);
      expect(await store().generation(`${namespace}-other`)).toBe(0);
      // The generation is no record: list() never yields it, whatever the prefix.
      const listed = await store().list({ prefix: MARKER_PREFIX, limit: 10, now: T0 });
      expect(listed.records).toEqual([]);
    });

    it('treats an expired record as absent in get() and list(), even while it is still stored', async () => {
      const pk = key('expiring');
      await store().complete(await take(pk, T0), T0);
      expect(await store().get(pk, EXPIRY_MS - 1)).toMatchObject({ pk, status: 'COMPLETED' });
      expect(await listAll(store(), { prefix: pk, limit: 10, now: EXPIRY_MS - 1 })).toHaveLength(1);
      expect(await store().get(pk, EXPIRY_MS)).toBeUndefined();
      expect(await listAll(store(), { prefix: pk, limit: 10, now: EXPIRY_MS })).toEqual([]);
    });

    it('lists page by page with a cursor, filtered by prefix and status', async () => {
      const base = key('list');
      // Mixed case and punctuation: every implementation must order its cursor consistently.
      const labels = ['a', 'B', 'c', 'D', '_e', '-f', 'g.1', 'G.2'];
      const status: Record<string, string> = {};
      for (const [i, label] of labels.entries()) {
        const pk = `${base}/${label}`;
        const claim = await take(pk, T0);
        if (i % 3 === 0) await store().complete(claim, T0);
        if (i % 3 === 1) await store().fail(claim, T0, 'boom');
        status[pk] = i % 3 === 0 ? 'COMPLETED' : i % 3 === 1 ? 'FAILED' : 'IN_PROGRESS';
      }
      await take(`${base}-sibling`, T0); // shares the text but not the prefix `${base}/`
      await store().claim({ ...claimAt(`${base}/zz-expired`, T0 - 1000), expiresAt: T0 / 1000 });

      for (const limit of [1, 3, 100]) {
        const all = await listAll(store(), { prefix: `${base}/`, limit, now: T0 });
        expect(all.map((r) => r.pk).sort()).toEqual(Object.keys(status).sort());
        for (const record of all) expect(record.status).toBe(status[record.pk]);
      }
      for (const wanted of ['COMPLETED', 'FAILED', 'IN_PROGRESS'] as const) {
        const some = await listAll(store(), { prefix: `${base}/`, status: wanted, limit: 2, now: T0 });
        const expected = Object.keys(status).filter((pk) => status[pk] === wanted);
        expect(some.map((r) => r.pk).sort()).toEqual(expected.sort());
      }
    });

    it('resumes a listing after the record its cursor names was deleted', async () => {
      const base = key('list-cursor');
      const pks = ['1', '2', '3', '4'].map((n) => `${base}/${n}`);
      for (const pk of pks) await take(pk, T0);
      const first = await store().list({ prefix: `${base}/`, limit: 2, now: T0 });
      expect(first.records).toHaveLength(2);
      expect(first.cursor).toBeDefined();
      expect(await store().clear(first.cursor)).toEqual({ deleted: 1, skipped: 0 });
      const rest = await listAll(store(), { prefix: `${base}/`, limit: 2, now: T0, cursor: first.cursor });
      const seen = [...first.records, ...rest].map((r) => r.pk);
      expect(seen.sort()).toEqual(pks.sort());
    });

    it('clears only the records whose key starts with the prefix and says how many', async () => {
      const base = key('clear');
      const doomed = [`${base}/1`, `${base}/2`, `${base}/3`];
      const kept = [`${base}-kept`, key('clear-other')];
      for (const pk of [...doomed, ...kept]) await take(pk, T0);
      expect(await store().clear(`${base}/`)).toEqual({ deleted: doomed.length, skipped: 0 });
      for (const pk of doomed) expect(await store().get(pk, T0)).toBeUndefined();
      for (const pk of kept) expect(await store().get(pk, T0)).toMatchObject({ pk });
      expect(await store().clear(`${base}/`)).toEqual({ deleted: 0, skipped: 0 });
    });
  });
}
